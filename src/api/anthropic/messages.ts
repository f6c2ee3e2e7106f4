// Anthropic POST /v1/messages and /v1/messages/count_tokens: wire request -> NativeRequest, results/events ->
// the Messages API's JSON and its named SSE events.

import { IMAGE_MARKER, imageFromBase64, imageFromUrl } from '../images.ts';
import type { ImageInput } from '../../chat/media.ts';
import type { ChatMessage, ChatToolCall } from '../../chat/template.ts';
import type { ToolChoice, ToolSpec } from '../../chat/tools.ts';
import type { ChoiceResult, NativeEvent, NativeRequest, PromptInput } from '../native.ts';
import { Fields, FieldError, unsupported } from '../validate.ts';
import { argumentsObject, readAnthropicToolChoice, readAnthropicTools, readHearthMcp } from '../tools.ts';

const IGNORED = ['service_tier', 'cache_control', 'inference_geo', 'speed', 'user_profile_id', 'workspace_id', 'diagnostics'];

export interface MessagesMeta {
  id: string;
  model: string;
}

/** A text block's text. */
function textBlock(b: Fields): string {
  const t = b.required('text', (f, k) => f.string(k));
  b.object('cache_control');
  b.array('citations');
  b.rejectUnknown();
  return t;
}

function text(parent: Fields, blocks: unknown, path: string, what: string): string {
  if (typeof blocks === 'string') return blocks;
  if (!Array.isArray(blocks)) throw new FieldError(path, `${path} must be a string or an array of content blocks`);
  return parent.children(blocks, path).map((b) => {
    const type = b.required('type', (f, k) => f.string(k));
    if (type !== 'text') {
      throw unsupported(b.name('type'), `${what} block type ${JSON.stringify(type)}: only "text" blocks are supported here (no images, documents or thinking)`);
    }
    return textBlock(b);
  }).join('');
}

/** An image block: `source` base64 (`media_type`, `data`) or url (refused: the server does not fetch images). */
function imageBlock(b: Fields): ImageInput {
  const src = b.required('source', (f, k) => f.object(k));
  const kind = src.required('type', (f, k) => f.oneOf(k, ['base64', 'url']));
  let img: ImageInput;
  if (kind === 'base64') {
    src.oneOf('media_type', ['image/jpeg', 'image/png', 'image/gif', 'image/webp']);
    img = imageFromBase64(src.name('data'), src.required('data', (f, k) => f.string(k, { nonEmpty: true })));
  } else {
    img = imageFromUrl(src.name('url'), src.required('url', (f, k) => f.string(k, { nonEmpty: true })));
  }
  src.rejectUnknown();
  b.object('cache_control');
  b.rejectUnknown();
  return img;
}

/** Hearth's call ids (`call_…`) as Anthropic spells tool-use ids (`toolu_…`). */
export function toolUseId(id: string): string {
  return id.startsWith('call_') ? 'toolu_' + id.slice(5) : id;
}

/**
 * One wire message as chat messages: an assistant's text and tool_use blocks make one message with calls; a
 * user's tool_result blocks each become a 'tool' message (in order), its text blocks a user message.
 */
function turn(m: Fields): ChatMessage[] {
  const role = m.required('role', (x, k) => x.oneOf(k, ['user', 'assistant']));
  const raw = m.required('content', (x, k) => x.raw(k));
  m.rejectUnknown();
  if (typeof raw === 'string') return [{ role, content: raw }];
  if (!Array.isArray(raw)) throw new FieldError(m.name('content'), `${m.name('content')} must be a string or an array of content blocks`);
  const out: ChatMessage[] = [];
  let content = '';
  let images: ImageInput[] = [];
  let reasoning: string | undefined;
  const calls: ChatToolCall[] = [];
  const flush = () => {
    if (content) out.push({ role, content, ...(images.length ? { images } : {}) });
    content = '';
    images = [];
  };
  for (const b of m.children(raw, m.name('content'))) {
    const type = b.required('type', (f, k) => f.string(k));
    if (type === 'text') content += textBlock(b);
    else if (type === 'image' && role === 'user') {
      images.push(imageBlock(b));
      content += IMAGE_MARKER;
    }
    else if (type === 'thinking' && role === 'assistant') {
      // An earlier reply's thinking, sent back as Anthropic asks: templates that keep reasoning get it.
      reasoning = (reasoning ?? '') + b.required('thinking', (f, k) => f.string(k));
      b.string('signature');
      b.rejectUnknown();
    } else if (type === 'redacted_thinking' && role === 'assistant') {
      // Another server's encrypted thinking: nothing here can read it.
      b.string('data');
      b.rejectUnknown();
    } else if (type === 'tool_use' && role === 'assistant') {
      const id = b.required('id', (f, k) => f.string(k, { nonEmpty: true }));
      const name = b.required('name', (f, k) => f.string(k, { nonEmpty: true }));
      const input = b.required('input', (f, k) => f.object(k)).obj;
      b.object('cache_control');
      b.rejectUnknown();
      calls.push({ id, type: 'function', function: { name, arguments: JSON.stringify(input) } });
    } else if (type === 'tool_result' && role === 'user') {
      flush();
      const id = b.required('tool_use_id', (f, k) => f.string(k, { nonEmpty: true }));
      const c = b.raw('content');
      const result = c === undefined ? '' : text(b, c, b.name('content'), 'tool_result content');
      const isError = b.boolean('is_error') ?? false;
      b.object('cache_control');
      b.rejectUnknown();
      out.push({ role: 'tool', content: isError ? `Error: ${result}` : result, toolCallId: id });
    } else {
      throw unsupported(b.name('type'), `${role} block type ${JSON.stringify(type)}: the supported blocks are text${role === 'assistant' ? ', thinking and tool_use' : ', image and tool_result'} (no documents)`);
    }
  }
  if (role === 'assistant') {
    return [{ role, content, ...(calls.length ? { toolCalls: calls } : {}), ...(reasoning !== undefined ? { reasoningContent: reasoning } : {}) }];
  }
  flush();
  return out.length ? out : [{ role, content: '' }];
}

/** system + messages as chat messages; shared by /v1/messages and count_tokens. */
function conversation(f: Fields): ChatMessage[] {
  const out: ChatMessage[] = [];
  const system = f.raw('system');
  if (system !== undefined) {
    const s = text(f, system, 'system', 'system');
    if (s) out.push({ role: 'system', content: s });
  }
  const list = f.required('messages', (x, k) => x.array(k, { nonEmpty: true }));
  for (const m of f.children(list, 'messages')) out.push(...turn(m));
  return out;
}

/** The chat prompt: messages, tools and tool choice, template variables. */
function chatPrompt(messages: ChatMessage[], tools: ToolSpec[] | undefined, read: { choice: ToolChoice; single: boolean } | undefined,
  templateVars: Record<string, unknown> | undefined, mcp = false): PromptInput & { kind: 'chat' } {
  // A thinking section is read apart, into thinking blocks.
  const p: PromptInput & { kind: 'chat' } = { kind: 'chat', messages, splitReasoning: true };
  const toolChoice = read?.choice;
  if (templateVars) p.templateVars = templateVars;
  if (tools) p.tools = tools;
  if ((tools || mcp) && toolChoice !== undefined) p.toolChoice = toolChoice;
  if ((tools || mcp) && read?.single) p.parallelToolCalls = false;
  if (!tools && !mcp && toolChoice !== undefined && toolChoice !== 'auto' && toolChoice !== 'none') {
    throw new FieldError('tool_choice', 'tool_choice forces a tool call, but the request has no tools');
  }
  return p;
}

/**
 * Extended thinking reaches the chat template's thinking switch (Qwen3's enable_thinking) as a template
 * variable: {type: "enabled", budget_tokens} turns it on, {type: "disabled"} off. A template without the switch
 * ignores it. budget_tokens is checked as Anthropic checks it (>= 1024, below max_tokens) but does not cut the
 * thinking short: max_tokens bounds thinking and answer together.
 */
function readThinking(f: Fields, maxTokens?: number): Record<string, unknown> | undefined {
  const thinking = f.object('thinking');
  for (const k of ['mcp_servers', 'container', 'output_config']) if (f.has(k)) throw unsupported(k, 'this model runtime has no such feature');
  if (!thinking) return undefined;
  const type = thinking.required('type', (x, k) => x.oneOf(k, ['enabled', 'disabled']));
  if (type === 'enabled') {
    const budget = thinking.required('budget_tokens', (x, k) => x.number(k, { integer: true, min: 1024 }));
    if (maxTokens !== undefined && budget >= maxTokens) {
      throw new FieldError('thinking.budget_tokens', `thinking.budget_tokens (${budget}) must be less than max_tokens (${maxTokens})`);
    }
  }
  thinking.rejectUnknown();
  return { enable_thinking: type === 'enabled' };
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
  const templateVars = readThinking(f, maxTokens);
  const mcp = readHearthMcp(f);
  const prompt = chatPrompt(messages, readAnthropicTools(f), readAnthropicToolChoice(f), templateVars, mcp !== undefined);
  const meta = f.object('metadata');
  if (meta) {
    meta.string('user_id');
    meta.rejectUnknown();
  }
  // Accepted and without effect here: routing, caching and account fields.
  for (const k of IGNORED) f.raw(k);
  const req: NativeRequest = {
    model,
    prompts: [prompt],
    n: 1,
    maxTokens,
    maxTokensParam: 'max_tokens',
    sampling: {
      temperature: f.number('temperature', { min: 0, max: 1 }),
      topP: f.number('top_p', { min: 0, max: 1 }),
      topK: f.number('top_k', { integer: true, min: 0 }),
    },
    stop: stop as string[],
    stream: f.boolean('stream') ?? false,
    ...(mcp ? { mcp } : {}),
  };
  f.rejectUnknown();
  return req;
}

export function countTokensRequestFromAnthropic(body: unknown): { model: string; prompt: PromptInput } {
  const f = new Fields(body);
  const model = f.required('model', (x, k) => x.string(k, { nonEmpty: true }));
  const messages = conversation(f);
  const templateVars = readThinking(f);
  const prompt = chatPrompt(messages, readAnthropicTools(f), readAnthropicToolChoice(f), templateVars);
  f.rejectUnknown();
  return { model, prompt };
}

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use';

export function stopReason(r: ChoiceResult): StopReason {
  if (r.reason === 'tool_calls') return 'tool_use';
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

export type ContentBlock =
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export function messageResponse(r: ChoiceResult, meta: MessagesMeta) {
  const calls = r.toolCalls ?? [];
  // Thinking blocks carry a signature on Anthropic's API (its own check that they come back unchanged); this
  // server does not check them, so it is empty.
  const content: ContentBlock[] = r.reasoning !== undefined ? [{ type: 'thinking', thinking: r.reasoning, signature: '' }] : [];
  if (r.text !== '' || calls.length === 0) content.push({ type: 'text', text: r.text });
  for (const c of calls) content.push({ type: 'tool_use', id: toolUseId(c.id), name: c.name, input: argumentsObject(c.arguments) });
  return {
    id: meta.id,
    type: 'message' as const,
    role: 'assistant' as const,
    model: meta.model,
    content,
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

/**
 * Streaming: message_start, then content blocks, then message_delta and message_stop. Without tools or
 * reasoning one text block is opened at once (index 0); otherwise each block opens at its first piece: a
 * thinking block (thinking_delta) for reasoning, a text block for text, and a tool_use block for each call
 * (content_block_start with input {}, input_json_deltas as the arguments are written, content_block_stop).
 */
export class MessagesStreamEncoder {
  private readonly meta: MessagesMeta;
  private readonly lazyText: boolean;
  /** The index and type of the open block (-1: none), and the index of the next block. */
  private open = -1;
  private openType: 'text' | 'thinking' | 'tool_use' | undefined;
  private next = 0;

  /** `reasoning`: the reply may have a thinking section (the model's template writes one). */
  constructor(meta: MessagesMeta, opts: { tools?: boolean; reasoning?: boolean } = {}) {
    this.meta = meta;
    this.lazyText = (opts.tools ?? false) || (opts.reasoning ?? false);
  }

  private openBlock(block: Record<string, unknown> & { type: 'text' | 'thinking' | 'tool_use' }): NamedEvent[] {
    const head = this.close();
    this.open = this.next++;
    this.openType = block.type;
    return [...head, named({ type: 'content_block_start', index: this.open, content_block: block })];
  }

  private openText(): NamedEvent[] {
    return this.openBlock({ type: 'text', text: '' });
  }

  private close(): NamedEvent[] {
    if (this.open < 0) return [];
    const ev = named({ type: 'content_block_stop', index: this.open });
    this.open = -1;
    this.openType = undefined;
    return [ev];
  }

  start(inputTokens: number): NamedEvent[] {
    const head = named({
      type: 'message_start',
      message: {
        id: this.meta.id, type: 'message', role: 'assistant', model: this.meta.model, content: [],
        stop_reason: null, stop_sequence: null, usage: usage(inputTokens, 0),
      },
    });
    if (this.lazyText) return [head, named({ type: 'ping' })];
    return [head, ...this.openText(), named({ type: 'ping' })];
  }

  event(ev: NativeEvent): NamedEvent[] {
    if (ev.type === 'reasoning') {
      if (!ev.text) return [];
      const head = this.openType === 'thinking' ? [] : this.openBlock({ type: 'thinking', thinking: '', signature: '' });
      return [...head, named({ type: 'content_block_delta', index: this.open, delta: { type: 'thinking_delta', thinking: ev.text } })];
    }
    if (ev.type === 'delta') {
      if (!ev.text) return [];
      const head = this.openType === 'text' ? [] : this.openText();
      return [...head, named({ type: 'content_block_delta', index: this.open, delta: { type: 'text_delta', text: ev.text } })];
    }
    if (ev.type === 'tool_call') return this.close();
    if (ev.type === 'tool_call_delta') {
      const head = ev.name === undefined ? [] : this.openBlock({ type: 'tool_use', id: toolUseId(ev.id!), name: ev.name, input: {} });
      if (!ev.arguments) return head;
      return [...head, named({ type: 'content_block_delta', index: this.open, delta: { type: 'input_json_delta', partial_json: ev.arguments } })];
    }
    const r = ev.result;
    // A reply with nothing in it still has its (empty) text block.
    const body = this.next === 0 ? [...this.openText(), ...this.close()] : this.close();
    return [
      ...body,
      named({
        type: 'message_delta',
        delta: { stop_reason: stopReason(r), stop_sequence: r.stopSequence },
        usage: { output_tokens: r.usage.completionTokens },
      }),
      named({ type: 'message_stop' }),
    ];
  }
}
