// Conversations as the generating routes use them: a request's prompt made from the stored history (compressed to
// fit, conversation-context.ts), and its turn appended once the answer is whole. The Responses API's
// `conversation` parameter and the `hearth-conversation` header of the other dialects both go through here.

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ChatMessage } from '../chat/template.ts';
import type { NativeRequest, PromptInput } from '../api/native.ts';
import { FieldError } from '../api/validate.ts';
import { itemSearchText, itemsOfMessages, itemsOfResult } from '../api/openai/conversations.ts';
import type { NewId, ResponseItem } from '../api/openai/responses-request.ts';
import type { ConversationStore, StoredConversation } from '../store/conversations.ts';
import type { ModelManager } from '../provider/model-manager.ts';
import type { Provider } from '../provider/types.ts';
import { contextHeader, fitConversation, storedPinned, summaryPromptMessages, type FittedContext, type Summariser } from './conversation-context.ts';
import { clientSignal, useModel, type Answer, type RouteContext } from './respond.ts';

export interface ConversationOptions {
  /** The model that writes summaries (default: the conversation's own, the request's model). */
  summaryModel?: string;
  /** Share of the context a prompt may fill before compression (default 0.75). */
  budgetShare?: number;
  /** Turns always kept verbatim (default 4). */
  keepTurns?: number;
}

export const CONVERSATION_HEADER = 'hearth-conversation';
/** Metadata that turns recall on for a conversation: how many compressed-away items may come back (1 to 8). */
export const RECALL_METADATA = 'hearth_recall';
export const CONTEXT_HEADER = 'hearth-context';

/** Output tokens held back when the request does not say: an eighth of the context, at most 512. */
export const defaultReserve = (nCtx: number): number => Math.min(512, Math.floor(nCtx / 8));

/** The key a request authenticated with: a conversation belongs to it. */
export const ownerOf = (request: FastifyRequest): string | undefined => request.hearthAuth?.key?.id;

export function conversationNotFound(id: string, param: string): FieldError {
  return new FieldError(param, `no conversation with id ${JSON.stringify(id)} (it was never created, or was deleted)`, 'not_found');
}

/** Leading system messages (pinned) and the rest (the new turn). */
export function splitPinned(messages: ChatMessage[]): { pinned: ChatMessage[]; rest: ChatMessage[] } {
  let k = 0;
  while (k < messages.length && messages[k].role === 'system') k++;
  return { pinned: messages.slice(0, k), rest: messages.slice(k) };
}

export class Conversations {
  readonly store: ConversationStore;
  private readonly models: ModelManager;
  private readonly o: Required<Omit<ConversationOptions, 'summaryModel'>> & { summaryModel?: string };

  constructor(store: ConversationStore, models: ModelManager, o: ConversationOptions = {}) {
    this.store = store;
    this.models = models;
    this.o = { budgetShare: o.budgetShare ?? 0.75, keepTurns: o.keepTurns ?? 4, ...(o.summaryModel ? { summaryModel: o.summaryModel } : {}) };
  }

  get(id: string, request: FastifyRequest, param: string): StoredConversation {
    const c = this.store.get(id, ownerOf(request));
    if (!c) throw conversationNotFound(id, param);
    return c;
  }

  /** The summariser: the --summary-model (leased for each summary) or the request's own provider. */
  private summariser(own: Provider, signal: AbortSignal | undefined, onSummarise?: (model: string, messages: number) => void): Summariser {
    const withProvider = async <T>(fn: (p: Provider) => Promise<T>): Promise<T> => {
      if (this.o.summaryModel === undefined) return fn(own);
      const lease = await this.models.acquire(this.o.summaryModel);
      try {
        return await fn(lease.provider);
      } finally {
        lease.release();
      }
    };
    return {
      fits: (previous, span) => withProvider(async (p) => {
        const tokens = await p.countTokens({ kind: 'chat', messages: summaryPromptMessages(previous, span) });
        return tokens + summaryTokens(p.card.nCtx) <= Math.floor(p.card.nCtx * this.o.budgetShare);
      }),
      summarise: (previous, span) => withProvider(async (p) => {
        onSummarise?.(p.card.id, span.length);
        const run = await p.generate({
          model: p.card.id, prompts: [{ kind: 'chat', messages: summaryPromptMessages(previous, span) }], n: 1,
          sampling: { temperature: 0 }, stop: [], stream: false, maxTokens: summaryTokens(p.card.nCtx),
        }, signal);
        const [r] = await run.collect();
        return { text: r.text.trim(), model: p.card.id };
      }),
    };
  }

  /**
   * Rewrites the request's one chat prompt: pinned system messages, the stored history (summarised where it must
   * be), then the new turn; sets hearth-context when a summary was used. Returns the new turn's items.
   */
  async prepare(conversation: StoredConversation, native: NativeRequest, provider: Provider, reply: FastifyReply, signal?: AbortSignal): Promise<FittedContext> {
    const conversationId = conversation.id;
    const prompt = native.prompts[0] as PromptInput & { kind: 'chat' };
    const { pinned, rest } = splitPinned(prompt.messages);
    const nCtx = Math.min(native.numCtx ?? provider.card.nCtx, provider.card.nCtx);
    const budget = Math.floor(nCtx * this.o.budgetShare) - (native.maxTokens ?? defaultReserve(nCtx));
    const fitted = await fitConversation({
      store: this.store, conversationId, pinned, input: rest, budget, keepTurns: this.o.keepTurns, recall: recallOf(conversation.metadata[RECALL_METADATA]),
      count: (messages) => provider.countTokens({ ...prompt, messages }),
      summariser: this.summariser(provider, signal, (model, messages) => reply.log.info({ conversation: conversationId, model, messages }, 'writing a summary')),
    });
    prompt.messages = fitted.messages;
    if (fitted.report) reply.header(CONTEXT_HEADER, contextHeader(fitted.report));
    // work done on the conversation's behalf: the agent component's log
    if (fitted.report && fitted.report.summariesWritten > 0) {
      reply.log.info({
        component: 'agent', conversation: conversationId, summaries_written: fitted.report.summariesWritten,
        summarised_turns: fitted.report.summarisedTurns, tokens_saved: fitted.report.tokensSaved, summary_model: this.o.summaryModel ?? provider.card.id,
      }, 'conversation compressed');
    }
    return fitted;
  }

  /** Appends a turn in one transaction; an id the conversation already holds is replaced by a fresh one. */
  append(conversationId: string, items: ResponseItem[], newId: NewId): ResponseItem[] {
    const seen = new Set<string>();
    const out = items.map((item) => {
      let id = item.id;
      if (seen.has(id) || this.store.hasItem(conversationId, id)) id = newId(`${id.split('_')[0]}_`);
      seen.add(id);
      return { ...item, id };
    });
    this.store.append(conversationId, out.map((item) => ({ id: item.id, item: item as unknown as Record<string, unknown>, text: itemSearchText(item) })));
    return out;
  }

  /**
   * The `hearth-conversation` header of a chat dialect: undefined without it; else the request's prompt is the
   * stored history and its messages, and the answer appends the turn once its choice is whole.
   */
  async turn(request: FastifyRequest, reply: FastifyReply, native: NativeRequest, provider: Provider, newId: NewId,
    signal?: AbortSignal): Promise<((answer: Answer) => Answer) | undefined> {
    const header = request.headers[CONVERSATION_HEADER];
    if (header === undefined) return undefined;
    const id = Array.isArray(header) ? header[0] : header;
    const conversation = this.get(id, request, CONVERSATION_HEADER);
    const prompt = native.prompts[0];
    if (native.prompts.length !== 1 || prompt.kind !== 'chat' || native.n !== 1) {
      throw new FieldError(CONVERSATION_HEADER, `${CONVERSATION_HEADER} needs one chat prompt with one choice (n = 1)`);
    }
    const { pinned, rest } = splitPinned(prompt.messages);
    // The request's system prompt is stored once, when the conversation has none yet.
    const keepPinned = storedPinned(this.store.items(id)).pinned.length === 0;
    const input = itemsOfMessages([...(keepPinned ? pinned : []), ...rest], newId);
    await this.prepare(conversation, native, provider, reply, signal);
    const done = (results: { text: string }[]) => {
      const r = results[0] as Parameters<typeof itemsOfResult>[0] | undefined;
      if (r) this.append(id, [...input, ...itemsOfResult(r, newId)], newId);
    };
    return (answer) => ({
      json: (results, run) => {
        done(results);
        return answer.json(results, run);
      },
      stream: () => {
        const w = answer.stream();
        return {
          ...w,
          end: (results) => {
            done(results);
            return w.end?.(results) ?? [];
          },
        };
      },
    });
  }
}

/** The hearth_recall metadata value as a count: "on" is 3, a number 1 to 8 is itself, anything else none. */
function recallOf(text: string | undefined): number {
  if (text === 'on') return 3;
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 && n <= 8 ? n : 0;
}

/** Longest summary: a sixteenth of the summariser's context, 32 to 512 tokens. */
function summaryTokens(nCtx: number): number {
  return Math.max(32, Math.min(512, Math.floor(nCtx / 16)));
}

/**
 * For a chat route: with a hearth-conversation header, the provider (acquired here when the route has none yet)
 * and the answer wrapped to append the turn; without one, the route's provider and its answer unchanged.
 */
export async function conversationTurn(ctx: RouteContext, request: FastifyRequest, reply: FastifyReply, native: NativeRequest,
  provider?: Provider): Promise<{ provider?: Provider; wrap: (answer: Answer) => Answer }> {
  if (request.headers[CONVERSATION_HEADER] === undefined) return { ...(provider ? { provider } : {}), wrap: (a) => a };
  if (!ctx.conversations) throw new FieldError(CONVERSATION_HEADER, 'this server keeps no conversations');
  const p = provider ?? await useModel(ctx, request, reply, native.model, native.keepAliveMs);
  const wrap = await ctx.conversations.turn(request, reply, native, p, ctx.newId, clientSignal(reply));
  return { provider: p, wrap: wrap ?? ((a) => a) };
}
