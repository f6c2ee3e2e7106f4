// OpenAI's Conversations API, the wire side: the request bodies of /v1/conversations read into items and
// metadata, the conversation object, and the conversions that let any dialect keep a conversation: chat
// messages to items (a request's new turn) and a finished choice to output items (its answer).

import type { ChatMessage } from '../../chat/template.ts';
import type { ChoiceResult } from '../native.ts';
import { Fields, FieldError } from '../validate.ts';
import { readItem, readMetadata, type ItemLookup, type NewId, type ResponseItem } from './responses-request.ts';

export interface ConversationObject {
  id: string;
  object: 'conversation';
  /** Unix seconds. */
  created_at: number;
  metadata: Record<string, string>;
}

export const conversationObject = (c: { id: string; createdAt: number; metadata: Record<string, string> }): ConversationObject => ({
  id: c.id, object: 'conversation', created_at: Math.floor(c.createdAt / 1000), metadata: c.metadata,
});

/** At most 20 items per request, as OpenAI allows. */
const MAX_ITEMS = 20;

function readItems(f: Fields, key: string, newId: NewId, lookup: ItemLookup, required: boolean): ResponseItem[] {
  const list = f.array(key);
  if (list === undefined) {
    if (required) throw new FieldError(key, `${key} is required`);
    return [];
  }
  if (list.length > MAX_ITEMS) throw new FieldError(key, `${key} has ${list.length} items; at most ${MAX_ITEMS} may be added at a time`);
  return f.children(list, key).map((item) => readItem(item, newId, lookup));
}

/** POST /v1/conversations: `items` (optional) and `metadata`. A missing body is an empty conversation. */
export function readCreateConversation(body: unknown, newId: NewId, lookup: ItemLookup): { items: ResponseItem[]; metadata: Record<string, string> } {
  const f = new Fields(body ?? {});
  const items = readItems(f, 'items', newId, lookup, false);
  const metadata = readMetadata(f);
  f.rejectUnknown();
  return { items, metadata };
}

/** POST /v1/conversations/{id}: `metadata` (null clears it). */
export function readUpdateConversation(body: unknown): Record<string, string> {
  const f = new Fields(body ?? {});
  if (!Object.hasOwn(f.obj, 'metadata')) throw new FieldError('metadata', 'metadata is required');
  const metadata = readMetadata(f);
  f.rejectUnknown();
  return metadata;
}

/** POST /v1/conversations/{id}/items: `items` (1 to 20). */
export function readAddItems(body: unknown, newId: NewId, lookup: ItemLookup): ResponseItem[] {
  const f = new Fields(body);
  const items = readItems(f, 'items', newId, lookup, true);
  if (items.length === 0) throw new FieldError('items', 'items must not be empty');
  f.rejectUnknown();
  return items;
}

/** What keyword search reads of an item. */
export function itemSearchText(item: ResponseItem): string {
  switch (item.type) {
    case 'message': return item.content.map((p) => (p.type === 'refusal' ? p.refusal : p.text)).join('');
    case 'function_call': return `${item.name} ${item.arguments}`;
    case 'function_call_output': return item.output;
    case 'reasoning': return item.summary.map((s) => s.text).join('\n');
  }
  // an MCP tool loop's items (mcp_call, mcp_list_tools)
  const mcp = item as unknown as { name?: string; arguments?: string; output?: string | null };
  return [mcp.name, mcp.arguments, mcp.output].filter((s) => typeof s === 'string').join(' ');
}

const MESSAGE_ROLES = new Set(['user', 'system', 'developer', 'assistant']);

/** Chat messages (a dialect's request) as conversation items: the inverse of messagesOfItems. */
export function itemsOfMessages(messages: readonly ChatMessage[], newId: NewId): ResponseItem[] {
  const out: ResponseItem[] = [];
  for (const m of messages) {
    if (m.role === 'tool') {
      out.push({ id: newId('fco_'), type: 'function_call_output', call_id: m.toolCallId ?? '', output: m.content, status: 'completed' });
      continue;
    }
    if (m.reasoningContent) out.push({ id: newId('rs_'), type: 'reasoning', summary: [{ type: 'summary_text', text: m.reasoningContent }] });
    const role = MESSAGE_ROLES.has(m.role) ? m.role as 'user' | 'system' | 'developer' | 'assistant' : 'user';
    if (m.content || !m.toolCalls?.length) {
      out.push({
        id: newId('msg_'), type: 'message', role, status: 'completed',
        content: [role === 'assistant' ? { type: 'output_text', text: m.content, annotations: [], logprobs: [] } : { type: 'input_text', text: m.content }],
      });
    }
    for (const c of m.toolCalls ?? []) {
      out.push({ id: newId('fc_'), type: 'function_call', call_id: c.id ?? newId('call_'), name: c.function.name,
        arguments: typeof c.function.arguments === 'string' ? c.function.arguments : JSON.stringify(c.function.arguments), status: 'completed' });
    }
  }
  return out;
}

/** A finished choice as the output items a Response would carry: reasoning, the message, then its calls. */
export function itemsOfResult(r: ChoiceResult, newId: NewId): ResponseItem[] {
  const status = r.reason === 'length' ? 'incomplete' : 'completed';
  const out: ResponseItem[] = [];
  if (r.reasoning) out.push({ id: newId('rs_'), type: 'reasoning', summary: [{ type: 'summary_text', text: r.reasoning }] });
  if (r.text || !r.toolCalls?.length) {
    out.push({ id: newId('msg_'), type: 'message', role: 'assistant', status, content: [{ type: 'output_text', text: r.text, annotations: [], logprobs: [] }] });
  }
  for (const c of r.toolCalls ?? []) out.push({ id: newId('fc_'), type: 'function_call', call_id: c.id, name: c.name, arguments: c.arguments, status });
  return out;
}
