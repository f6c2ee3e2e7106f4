// A stored conversation made into a prompt that fits: the system prompt pinned, then the rolling summary of
// the oldest turns (when there is one), then the turns after it verbatim, then the new input. When that would
// pass the budget, the oldest turns the summary does not cover yet (never the last `keepTurns`) are folded into
// a new summary, written by the summariser from the previous summary and that span only, and stored with the
// span it covers so that the next request reuses it. A turn starts at a user message, so a tool call and its
// result are never split. When nothing is left to fold and the prompt still does not fit, the request fails with
// context_length_exceeded: nothing is silently dropped, and nothing stored is ever deleted.

import type { ChatMessage } from '../chat/template.ts';
import { messagesOfItems, type ResponseItem } from '../api/openai/responses-request.ts';
import type { ConversationStore, StoredItem, StoredSummary } from '../store/conversations.ts';
import { HearthError } from '../util/errors.ts';

/** What the response reports (hearth-context) when a summary stood in for earlier turns. */
export interface ContextReport {
  /** Turns the summary covers. */
  summarisedTurns: number;
  /** Prompt tokens the whole history would have taken, less those the prompt took. */
  tokensSaved: number;
  /** Summaries written for this request (0: the stored one was reused). */
  summariesWritten: number;
  summaryId: number;
  /** Compressed-away items placed before the recent turns because they match the new input (recall). */
  recalled: number;
}

export interface FittedContext {
  messages: ChatMessage[];
  /** Prompt tokens of `messages`. */
  tokens: number;
  report?: ContextReport;
}

/** Writes a summary of `span` continuing `previous`; `fits` says whether the summariser can take that much. */
export interface Summariser {
  fits(previous: string | undefined, span: ChatMessage[]): Promise<boolean>;
  summarise(previous: string | undefined, span: ChatMessage[]): Promise<{ text: string; model: string }>;
}

export interface FitOptions {
  store: ConversationStore;
  conversationId: string;
  /** The request's own system messages (they replace the conversation's stored ones for this request). */
  pinned: ChatMessage[];
  /** The new turn's messages. */
  input: ChatMessage[];
  /** Prompt tokens of these messages, as the model would render them. */
  count(messages: ChatMessage[]): Promise<number>;
  /** Most prompt tokens. */
  budget: number;
  /** Turns kept verbatim at the end of the history. */
  keepTurns: number;
  summariser: Summariser;
  /** Most compressed-away items recalled before the recent turns (0, the default: none). */
  recall?: number;
}

interface Turn {
  firstSeq: number;
  lastSeq: number;
  items: ResponseItem[];
}

const isSystem = (i: StoredItem) => i.item.type === 'message' && (i.item.role === 'system' || i.item.role === 'developer');

/** Items in turns: a user message opens one; calls, their outputs and reasoning stay with the turn they are in. */
function turnsOf(items: StoredItem[]): Turn[] {
  const turns: Turn[] = [];
  for (const i of items) {
    const opens = i.item.type === 'message' && i.item.role !== 'assistant';
    const last = turns.at(-1);
    if (!last || opens) turns.push({ firstSeq: i.seq, lastSeq: i.seq, items: [i.item as unknown as ResponseItem] });
    else {
      last.items.push(i.item as unknown as ResponseItem);
      last.lastSeq = i.seq;
    }
  }
  return turns;
}

export const SUMMARY_HEADING = 'Summary of the earlier conversation:';

/** The conversation's leading system items, as messages (pinned when the request brings none). */
export function storedPinned(items: StoredItem[]): { pinned: ChatMessage[]; rest: StoredItem[] } {
  let k = 0;
  while (k < items.length && isSystem(items[k])) k++;
  return { pinned: messagesOfItems(items.slice(0, k).map((i) => i.item as unknown as ResponseItem)), rest: items.slice(k) };
}

export async function fitConversation(o: FitOptions): Promise<FittedContext> {
  const stored = o.store.items(o.conversationId);
  const own = storedPinned(stored);
  const pinned = o.pinned.length ? o.pinned : own.pinned;
  const turns = turnsOf(own.rest);
  let summary: StoredSummary | undefined = o.store.latestSummary(o.conversationId);
  const visible = (s: StoredSummary | undefined) => turns.filter((t) => s === undefined || t.lastSeq > s.throughSeq);
  const assemble = (s: StoredSummary | undefined, recalled: string[] = []): ChatMessage[] => {
    const head = pinned.map((m) => ({ ...m }));
    if (s) {
      const text = `${SUMMARY_HEADING}\n${s.text}`;
      const last = head.at(-1);
      if (last?.role === 'system') last.content = `${last.content}\n\n${text}`;
      else head.push({ role: 'system', content: text });
    }
    if (recalled.length) head.push({ role: 'system', content: `${RECALL_HEADING}\n${recalled.join('\n')}` });
    return [...head, ...messagesOfItems(visible(s).flatMap((t) => t.items)), ...o.input];
  };
  let messages = assemble(summary);
  let tokens = await o.count(messages);
  let written = 0;
  while (tokens > o.budget) {
    const open = visible(summary);
    const foldable = open.slice(0, Math.max(0, open.length - o.keepTurns));
    if (foldable.length === 0) {
      throw new HearthError('context_length_exceeded',
        `the conversation's prompt is ${tokens} tokens, over its budget of ${o.budget}, with ${open.length} turn(s) after the summary ` +
        `kept verbatim (the last ${o.keepTurns} always are) and nothing older left to summarise; send a shorter input or ask for fewer output tokens`);
    }
    // The longest run of the oldest foldable turns the summariser can take (at least one).
    let n = foldable.length;
    const spanOf = (k: number) => messagesOfItems(foldable.slice(0, k).flatMap((t) => t.items));
    while (n > 1 && !(await o.summariser.fits(summary?.text, spanOf(n)))) n = Math.ceil(n / 2);
    if (!(await o.summariser.fits(summary?.text, spanOf(n)))) {
      throw new HearthError('context_length_exceeded', 'one turn of the conversation is longer than the summariser model\'s context: it cannot be summarised');
    }
    const span = foldable.slice(0, n);
    const { text, model } = await o.summariser.summarise(summary?.text, spanOf(n));
    summary = o.store.addSummary(o.conversationId, {
      fromSeq: span[0].firstSeq, throughSeq: span.at(-1)!.lastSeq, turns: (summary?.turns ?? 0) + n, text, model,
    });
    written++;
    messages = assemble(summary);
    tokens = await o.count(messages);
  }
  if (!summary || visible(summary).length === turns.length) return { messages, tokens };
  const whole = await o.count(assemble(undefined));
  // Recall: the summarised items that best match the new input, best first, as many as the budget still takes.
  let recalled = recallSnippets(o, summary);
  while (recalled.length) {
    const withRecall = assemble(summary, recalled);
    const n = await o.count(withRecall);
    if (n <= o.budget) {
      messages = withRecall;
      tokens = n;
      break;
    }
    recalled = recalled.slice(0, -1);
  }
  return {
    messages, tokens,
    report: {
      summarisedTurns: summary.turns, tokensSaved: Math.max(0, whole - tokens), summariesWritten: written, summaryId: summary.id,
      recalled: recalled.length,
    },
  };
}

export const RECALL_HEADING = 'Earlier messages that may be relevant:';

function recallSnippets(o: FitOptions, summary: StoredSummary): string[] {
  if (!o.recall) return [];
  const query = o.input.map((m) => m.content).join(' ');
  const out: string[] = [];
  for (const hit of o.store.search(o.conversationId, query, 4 * o.recall)) {
    if (!hit.item || hit.item.seq > summary.throughSeq) continue;
    const [m] = messagesOfItems([hit.item.item as unknown as ResponseItem]);
    if (m?.content) out.push(`${m.role}: ${m.content}`);
    if (out.length === o.recall) break;
  }
  return out;
}

/** The hearth-context header's value. */
export function contextHeader(r: ContextReport): string {
  return `summarised_turns=${r.summarisedTurns}; tokens_saved=${r.tokensSaved}; summaries_written=${r.summariesWritten}; summary_id=${r.summaryId}` +
    (r.recalled ? `; recalled=${r.recalled}` : '');
}

/** The summariser's instructions. */
export const SUMMARY_PROMPT =
  'You keep the memory of a long conversation. Write a short summary of it that keeps names, facts, numbers, decisions, ' +
  'tool results and open questions, in plain sentences. When a summary of still earlier turns is given, fold it in.';

/** The summariser's chat: its instructions, then the previous summary and the span as a transcript. */
export function summaryPromptMessages(previous: string | undefined, span: ChatMessage[]): ChatMessage[] {
  const lines = span.map((m) => {
    const calls = m.toolCalls?.map((c) => ` [calls ${c.function.name}(${typeof c.function.arguments === 'string' ? c.function.arguments : JSON.stringify(c.function.arguments)})]`).join('') ?? '';
    return `${m.role}: ${m.content}${calls}`;
  });
  const body = (previous ? `Summary so far:\n${previous}\n\n` : '') + `Conversation:\n${lines.join('\n')}\n\nSummary:`;
  return [{ role: 'system', content: SUMMARY_PROMPT }, { role: 'user', content: body }];
}
