// Anthropic POST /v1/messages and /v1/messages/count_tokens: wire request -> NativeRequest, results/events ->
// the Messages API's JSON and its named SSE events.

import type { ChatMessage } from '../../chat/template.ts';
import type { ChoiceResult, NativeEvent, NativeRequest } from '../native.ts';
import { Fields, FieldError, objects, unsupported } from '../validate.ts';

const IGNORED = ['service_tier', 'cache_control', 'inference_geo', 'speed', 'user_profile_id', 'workspace_id', 'diagnostics'];

export interface MessagesMeta {
  id: string;
  model: string;
}

function text(blocks: unknown, path: string, what: string): string {
  if (typeof blocks === 'string') return blocks;
  if (!Array.isArray(blocks)) throw new FieldError(path, `${path} must be a string or an array of content blocks`);
  return objects(blocks, path).map((b) => {
    const type = b.required('type', (f, k) => f.string(k));
    if (type !== 'text') {
      throw unsupported(b.name('type'), `${what} block type ${JSON.stringify(type)}: only "text" blocks are supported (no images, documents, tools or thinking)`);
    }
    const t = b.required('text', (f, k) => f.string(k));
    b.object('cache_control');
    b.array('citations');
    b.rejectUnknown();
    return t;
  }).join('');
}

/** system + messages as chat messages; shared by /v1/messages and count_tokens. */
function conversation(f: Fields): ChatMessage[] {
  const out: ChatMessage[] = [];
  const system = f.raw('system');
  if (system !== undefined) {
    const s = text(system, 'system', 'system');
    if (s) out.push({ role: 'system', content: s });
  }
  const list = f.required('messages', (x, k) => x.array(k, { nonEmpty: true }));
  for (const m of objects(list, 'messages')) {
    const role = m.required('role', (x, k) => x.oneOf(k, ['user', 'assistant']));
    const content = text(m.required('content', (x, k) => x.raw(k)), m.name('content'), 'content');
    m.rejectUnknown();
    out.push({ role, content });
  }
  return out;
}

/**
 * Tools and extended thinking are refused; `thinking: {type: "disabled"}` turns a chat template's thinking
 * switch off (Qwen3's enable_thinking), returned as template variables.
 */
function rejectTools(f: Fields): Record<string, unknown> | undefined {
  const tools = f.array('tools');
  if (tools && tools.length > 0) throw unsupported('tools', 'tool use is not implemented');
  const choice = f.object('tool_choice');
  if (choice) {
    const type = choice.string('type');
    if (type !== 'none' && type !== 'auto') throw unsupported('tool_choice', 'tool use is not implemented');
    choice.raw('disable_parallel_tool_use');
  }
  const thinking = f.object('thinking');
  if (thinking) {
    const type = thinking.string('type');
    if (type !== 'disabled') throw unsupported('thinking', 'extended thinking is not implemented; use {"type":"disabled"}');
  }
  for (const k of ['mcp_servers', 'container', 'output_config']) if (f.has(k)) throw unsupported(k, 'this model runtime has no such feature');
  return thinking ? { enable_thinking: false } : undefined;
}

export function messagesRequestFromAnthropic(body: unknown): NativeRequest {
  const f = new Fields(body);
  const model = f.required('model', (x, k) => x.string(k, { nonEmpty: true }));
  const messages = conversation(f);
  const maxTokens = f.required('max_tokens', (x, k) => x.number(k, { integer: true, min: 1 }));
  const stop = f.array('stop_sequences') ?? [];
  stop.forEach((s, i) => {
    if (typeof s !== 'string' || s === '') throw new FieldError(`stop_sequences[${i}]`, `stop_sequences[${i}] must be a non-empty string`);
  });
  const templateVars = rejectTools(f);
  const meta = f.object('metadata');
  if (meta) {
    meta.string('user_id');
    meta.rejectUnknown();
  }
  // Accepted and without effect here: routing, caching and account fields.
  for (const k of IGNORED) f.raw(k);
  const req: NativeRequest = {
    model,
    prompts: [templateVars ? { kind: 'chat', messages, templateVars } : { kind: 'chat', messages }],
    n: 1,
    maxTokens,
    sampling: {
      temperature: f.number('temperature', { min: 0, max: 1 }),
      topP: f.number('top_p', { min: 0, max: 1 }),
      topK: f.number('top_k', { integer: true, min: 0 }),
    },
    stop: stop as string[],
    stream: f.boolean('stream') ?? false,
  };
  f.rejectUnknown();
  return req;
}

export function countTokensRequestFromAnthropic(body: unknown): { model: string; messages: ChatMessage[]; templateVars?: Record<string, unknown> } {
  const f = new Fields(body);
  const model = f.required('model', (x, k) => x.string(k, { nonEmpty: true }));
  const messages = conversation(f);
  const templateVars = rejectTools(f);
  f.rejectUnknown();
  return templateVars ? { model, messages, templateVars } : { model, messages };
}

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence';

export function stopReason(r: ChoiceResult): StopReason {
  if (r.reason === 'length') return 'max_tokens';
  return r.stopSequence !== null ? 'stop_sequence' : 'end_turn';
}

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
}

/**
 * input_tokens is the whole prompt. Hearth's prefix cache is automatic and costs nothing, so it is not
 * reported through Anthropic's prompt-caching fields (which would take cached tokens out of input_tokens).
 */
function usage(inputTokens: number, outputTokens: number): AnthropicUsage {
  return { input_tokens: inputTokens, output_tokens: outputTokens };
}

export function messageResponse(r: ChoiceResult, meta: MessagesMeta) {
  return {
    id: meta.id,
    type: 'message' as const,
    role: 'assistant' as const,
    model: meta.model,
    content: [{ type: 'text' as const, text: r.text }],
    stop_reason: stopReason(r),
    stop_sequence: r.stopSequence,
    usage: usage(r.usage.promptTokens, r.usage.completionTokens),
  };
}

/** A named SSE event: `event: <type>` with its JSON as data. */
export interface NamedEvent {
  event: string;
  data: Record<string, unknown>;
}

const named = (data: Record<string, unknown> & { type: string }): NamedEvent => ({ event: data.type, data });

export class MessagesStreamEncoder {
  private readonly meta: MessagesMeta;

  constructor(meta: MessagesMeta) {
    this.meta = meta;
  }

  start(inputTokens: number): NamedEvent[] {
    return [
      named({
        type: 'message_start',
        message: {
          id: this.meta.id, type: 'message', role: 'assistant', model: this.meta.model, content: [],
          stop_reason: null, stop_sequence: null, usage: usage(inputTokens, 0),
        },
      }),
      named({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      named({ type: 'ping' }),
    ];
  }

  event(ev: NativeEvent): NamedEvent[] {
    if (ev.type === 'delta') {
      return ev.text ? [named({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ev.text } })] : [];
    }
    const r = ev.result;
    return [
      named({ type: 'content_block_stop', index: 0 }),
      named({
        type: 'message_delta',
        delta: { stop_reason: stopReason(r), stop_sequence: r.stopSequence },
        usage: { output_tokens: r.usage.completionTokens },
      }),
      named({ type: 'message_stop' }),
    ];
  }
}
