// OpenAI POST /v1/chat/completions: wire request -> NativeRequest, and results/events -> wire responses.

import { IMAGE_MARKER, imageFromUrl } from '../images.ts';
import type { ImageInput } from '../../chat/media.ts';
import type { ChatMessage, ChatToolCall } from '../../chat/template.ts';
import type { ChoiceResult, NativeEvent, NativeRequest, NativeToolCall, PromptInput, TokenInfo } from '../native.ts';
import { Fields, FieldError, unsupported } from '../validate.ts';
import { readLlamaSamplerFields } from '../llama-sampler-fields.ts';
import { readFunctionTools, readHearthMcp, readOpenAIToolChoice } from '../tools.ts';
import { responseFormatSource } from '../structured-output.ts';
import {
  markIgnored, readLlamaServerFields, readN, readSampling, readStop, readStreamOptions, rejectFunctions, sentLimit, usageOf, utf8Bytes,
  type ResponseMeta, type Usage,
} from './common.ts';

export interface ChatRequestExtras {
  includeUsage: boolean;
}

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'] as const;

/** Text with IMAGE_MARKER where each image_url part was, and the images in order (user messages only). */
function messageContent(m: Fields, role: string): { text: string; images: ImageInput[] } {
  const raw = m.raw('content');
  const images: ImageInput[] = [];
  if (raw === undefined) {
    if (role === 'assistant' || role === 'tool') return { text: '', images };
    throw new FieldError(m.name('content'), `${m.name('content')} is required`);
  }
  if (typeof raw === 'string') return { text: raw, images };
  if (!Array.isArray(raw)) throw new FieldError(m.name('content'), `${m.name('content')} must be a string or an array of content parts`);
  const text = m.children(raw, m.name('content')).map((part) => {
    const type = part.string('type');
    if (type === 'text') {
      const text = part.required('text', (f, k) => f.string(k));
      part.rejectUnknown();
      return text;
    }
    if (type === 'refusal' && role === 'assistant') return part.required('refusal', (f, k) => f.string(k));
    if (type === 'image_url' && role === 'user') {
      const img = part.required('image_url', (f, k) => f.object(k));
      const url = img.required('url', (f, k) => f.string(k, { nonEmpty: true }));
      img.oneOf('detail', ['auto', 'low', 'high']);
      img.rejectUnknown();
      part.rejectUnknown();
      images.push(imageFromUrl(img.name('url'), url));
      return IMAGE_MARKER;
    }
    throw unsupported(part.name('type'), `content part type ${JSON.stringify(type)}: only text${role === 'user' ? ' and image_url' : ''} parts are supported (no audio or files)`);
  }).join('');
  return { text, images };
}

/** An assistant message's tool_calls: `[{id, type: "function", function: {name, arguments}}]`. */
function messageToolCalls(m: Fields): ChatToolCall[] | undefined {
  const list = m.array('tool_calls');
  if (!list) return undefined;
  return m.children(list, m.name('tool_calls')).map((c) => {
    const id = c.string('id');
    c.oneOf('type', ['function']);
    const fn = c.required('function', (x, k) => x.object(k));
    const name = fn.required('name', (x, k) => x.string(k, { nonEmpty: true }));
    const args = fn.string('arguments') ?? '{}';
    fn.rejectUnknown();
    c.rejectUnknown();
    return { ...(id !== undefined ? { id } : {}), type: 'function', function: { name, arguments: args } };
  });
}

export function chatMessagesFromOpenAI(f: Fields, list: unknown[]): ChatMessage[] {
  return f.children(list, 'messages').map((m) => {
    const role = m.required('role', (f, k) => f.oneOf(k, ROLES));
    if (role === 'function') throw unsupported(m.name('role'), 'role "function" belongs to the deprecated function calling; send role "tool" with tool_call_id');
    if (m.has('function_call')) throw unsupported(m.name('function_call'), 'the deprecated function_call is not implemented; send tool_calls');
    if (m.has('audio')) throw unsupported(m.name('audio'), 'audio is not implemented');
    const { text: content, images } = messageContent(m, role);
    const name = m.string('name');
    m.raw('refusal');
    const calls = role === 'assistant' ? messageToolCalls(m) : undefined;
    const callId = role === 'tool' ? m.required('tool_call_id', (f, k) => f.string(k)) : undefined;
    // An earlier reply's reasoning as this server (and llama-server) returned it; templates that keep it get it.
    const reasoning = role === 'assistant' ? m.string('reasoning_content') : undefined;
    m.rejectUnknown();
    // "developer" is OpenAI's newer name for the system role.
    const msg: ChatMessage = { role: role === 'developer' ? 'system' : role, content };
    if (name !== undefined) msg.name = name;
    if (calls?.length) msg.toolCalls = calls;
    if (callId !== undefined) msg.toolCallId = callId;
    if (reasoning !== undefined) msg.reasoningContent = reasoning;
    if (images.length > 0) msg.images = images;
    return msg;
  });
}

export function chatRequestFromOpenAI(body: unknown): NativeRequest & ChatRequestExtras {
  const f = new Fields(body);
  const model = f.required('model', (x, k) => x.string(k, { nonEmpty: true }));
  const messages = chatMessagesFromOpenAI(f, f.required('messages', (x, k) => x.array(k, { nonEmpty: true })));
  const stream = f.boolean('stream') ?? false;
  const { includeUsage } = readStreamOptions(f, stream);
  const maxCompletion = f.number('max_completion_tokens', { integer: true, min: 1 });
  const maxTokens = f.number('max_tokens', { integer: true, min: 1 });
  const { nPredict, nProbs } = readLlamaServerFields(f);
  const logprobs = f.boolean('logprobs') ?? false;
  const top = f.number('top_logprobs', { integer: true, min: 0, max: 20 });
  if (top !== undefined && !logprobs) throw new FieldError('top_logprobs', 'top_logprobs requires logprobs to be true');
  rejectFunctions(f);
  const tools = readFunctionTools(f);
  const toolChoice = readOpenAIToolChoice(f);
  const mcp = readHearthMcp(f);
  // false: a forced call ("required") is one call; with "auto" the model is not held to it.
  const parallel = f.boolean('parallel_tool_calls');
  const modalities = f.array('modalities');
  if (modalities && modalities.some((m) => m !== 'text')) throw unsupported('modalities', 'only "text" output is implemented');
  for (const k of ['audio', 'prediction', 'web_search_options']) {
    if (f.has(k)) throw unsupported(k, 'this model runtime has no such feature');
  }
  // reasoning_effort reaches the one switch chat templates have (Qwen3's enable_thinking): "none" and "minimal"
  // turn thinking off, the other levels on; a template without the switch ignores it, as llama-server does.
  const effort = f.oneOf('reasoning_effort', ['none', 'minimal', 'low', 'medium', 'high']);
  markIgnored(f);
  let templateVars = f.object('chat_template_kwargs')?.obj;
  if (effort !== undefined && templateVars?.enable_thinking === undefined) {
    templateVars = { ...templateVars, enable_thinking: effort !== 'none' && effort !== 'minimal' };
  }
  // A thinking section goes to reasoning_content, as llama-server's default reasoning format does.
  const prompt: PromptInput = { kind: 'chat', messages, splitReasoning: true };
  if (templateVars) prompt.templateVars = templateVars;
  if (tools) prompt.tools = tools;
  if ((tools || mcp) && parallel === false) prompt.parallelToolCalls = false;
  if (toolChoice !== undefined) {
    if (!tools && !mcp && toolChoice !== 'none' && toolChoice !== 'auto') throw new FieldError('tool_choice', 'tool_choice forces a call, but the request has no tools');
    if (tools || mcp) prompt.toolChoice = toolChoice;
  }
  const req: NativeRequest & ChatRequestExtras = {
    model,
    prompts: [prompt],
    n: readN(f),
    ...sentLimit([['max_completion_tokens', maxCompletion], ['max_tokens', maxTokens], ['n_predict', nPredict]]),
    sampling: { ...readSampling(f), ...readLlamaSamplerFields(f) },
    stop: readStop(f),
    logprobs: logprobs ? (top ?? 0) : nProbs,
    stream,
    includeUsage,
    ...(mcp ? { mcp } : {}),
  };
  const format = responseFormatSource(f);
  if (format && req.sampling.grammar !== undefined) req.format = format;
  f.rejectUnknown();
  return req;
}

export interface ChatLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

export function chatLogprobs(tokens: readonly TokenInfo[]): { content: ChatLogprob[]; refusal: null } {
  return {
    content: tokens.map((t) => ({
      token: t.piece,
      logprob: t.logprob ?? 0,
      bytes: utf8Bytes(t.piece),
      top_logprobs: (t.top ?? []).map((a) => ({ token: a.piece, logprob: a.logprob, bytes: utf8Bytes(a.piece) })),
    })),
    refusal: null,
  };
}

export type ChatFinishReason = 'stop' | 'length' | 'tool_calls';

export function chatFinishReason(r: ChoiceResult): ChatFinishReason {
  return r.reason === 'tool_calls' ? 'tool_calls' : r.reason === 'length' ? 'length' : 'stop';
}

export interface WireToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

function wireToolCall(c: NativeToolCall): WireToolCall {
  return { id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } };
}

export interface ChatMessageOut {
  role: 'assistant';
  content: string | null;
  refusal: null;
  tool_calls?: WireToolCall[];
  /** The reasoning read apart from content (as llama-server and vLLM name it). */
  reasoning_content?: string;
}

function messageOut(r: ChoiceResult): ChatMessageOut {
  const calls = r.toolCalls ?? [];
  const msg: ChatMessageOut = { role: 'assistant', content: calls.length && r.text === '' ? null : r.text, refusal: null };
  if (calls.length) msg.tool_calls = calls.map(wireToolCall);
  if (r.reasoning !== undefined) msg.reasoning_content = r.reasoning;
  return msg;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  system_fingerprint: string;
  choices: {
    index: number;
    message: ChatMessageOut;
    logprobs: { content: ChatLogprob[]; refusal: null } | null;
    finish_reason: ChatFinishReason;
  }[];
  usage: Usage;
}

export function chatCompletion(results: readonly ChoiceResult[], meta: ResponseMeta): ChatCompletion {
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    system_fingerprint: meta.systemFingerprint,
    choices: results.map((r) => ({
      index: r.index,
      message: messageOut(r),
      logprobs: r.logprobs ? chatLogprobs(r.logprobs) : null,
      finish_reason: chatFinishReason(r),
    })),
    usage: usageOf(results),
  };
}

/** A tool call in a stream: the first chunk has its id, type and name with arguments "", later ones add arguments. */
export interface ChatDeltaToolCall {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments: string };
}

export interface ChatDelta {
  role?: 'assistant';
  content?: string;
  reasoning_content?: string;
  tool_calls?: ChatDeltaToolCall[];
}

export interface ChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  system_fingerprint: string;
  choices: {
    index: number;
    delta: ChatDelta;
    logprobs: { content: ChatLogprob[]; refusal: null } | null;
    finish_reason: ChatFinishReason | null;
  }[];
  usage?: Usage | null;
}

/** Streaming: a role chunk per choice, content chunks, a finish chunk per choice, then usage if asked. */
export class ChatStreamEncoder {
  private readonly meta: ResponseMeta;
  private readonly includeUsage: boolean;
  private readonly logprobs: boolean;

  constructor(meta: ResponseMeta, opts: { includeUsage: boolean; logprobs: boolean }) {
    this.meta = meta;
    this.includeUsage = opts.includeUsage;
    this.logprobs = opts.logprobs;
  }

  private chunk(choices: ChatChunk['choices'], usage?: Usage): ChatChunk {
    const c: ChatChunk = {
      id: this.meta.id, object: 'chat.completion.chunk', created: this.meta.created, model: this.meta.model,
      system_fingerprint: this.meta.systemFingerprint, choices,
    };
    if (this.includeUsage) c.usage = usage ?? null;
    return c;
  }

  start(choices: number): ChatChunk[] {
    return Array.from({ length: choices }, (_, index) =>
      this.chunk([{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]));
  }

  event(ev: NativeEvent): ChatChunk[] {
    const one = (delta: ChatDelta) => this.chunk([{ index: ev.index, delta, logprobs: null, finish_reason: null }]);
    if (ev.type === 'reasoning') return [one({ reasoning_content: ev.text })];
    // A call streams as OpenAI's do: id, type and name first, then its arguments in pieces.
    if (ev.type === 'tool_call') return [];
    if (ev.type === 'tool_call_delta') {
      if (ev.name !== undefined) {
        return [one({ tool_calls: [{ index: ev.call, id: ev.id, type: 'function', function: { name: ev.name, arguments: ev.arguments } }] })];
      }
      return ev.arguments ? [one({ tool_calls: [{ index: ev.call, function: { arguments: ev.arguments } }] })] : [];
    }
    if (ev.type === 'delta') {
      const scored = this.logprobs ? ev.tokens.filter((t) => t.logprob !== undefined) : [];
      if (ev.text === '' && scored.length === 0) return [];
      return [this.chunk([{
        index: ev.index, delta: { content: ev.text }, logprobs: scored.length ? chatLogprobs(scored) : null, finish_reason: null,
      }])];
    }
    return [this.chunk([{ index: ev.index, delta: {}, logprobs: null, finish_reason: chatFinishReason(ev.result) }])];
  }

  end(results: readonly ChoiceResult[]): ChatChunk[] {
    return this.includeUsage ? [this.chunk([], usageOf(results))] : [];
  }
}
