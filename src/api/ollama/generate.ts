// Ollama POST /api/generate and /api/chat: wire requests -> NativeRequest, results/events -> NDJSON objects.

import type { ChatMessage, ChatToolCall } from '../../chat/template.ts';
import type { ToolSpec } from '../../chat/tools.ts';
import type { ChoiceResult, NativeEvent, NativeRequest, NativeToolCall, PromptInput, TokenInfo } from '../native.ts';
import { stopOrLength } from '../native.ts';
import { describe, Fields, tokenIds, unsupported } from '../validate.ts';
import { argumentsObject, readFunctionTools, readHearthMcp } from '../tools.ts';
import { ThinkingSplitter, type ThinkingParts } from './thinking.ts';
import { ollamaFormatSource, readOllamaFormat } from '../structured-output.ts';
import {
  readKeepAlive, readLogprobs, readOllamaImages, readOllamaOptions, readThink, rejectUnsupported, withImageMarkers, withTopLevelOptions,
} from './options.ts';

/** A chat prompt with think as the template's enable_thinking (tools: Ollama's API has no tool choice, so 'auto'). */
function chatPrompt(messages: ChatMessage[], think: boolean | undefined, tools?: ToolSpec[]): PromptInput {
  const p: PromptInput & { kind: 'chat' } = { kind: 'chat', messages };
  if (think !== undefined) p.templateVars = { enable_thinking: think };
  if (tools) p.tools = tools;
  return p;
}

/** An assistant message's tool_calls: `[{function: {name, arguments: {…}}}]` (arguments may be JSON text too). */
function messageToolCalls(m: Fields): ChatToolCall[] | undefined {
  const list = m.array('tool_calls');
  if (!list?.length) return undefined;
  return m.children(list, m.name('tool_calls')).map((c) => {
    const id = c.string('id');
    c.raw('type');
    const fn = c.required('function', (x, k) => x.object(k));
    const name = fn.required('name', (x, k) => x.string(k, { nonEmpty: true }));
    fn.number('index', { integer: true, min: 0 });
    const raw = fn.raw('arguments');
    const args = typeof raw === 'string' ? raw : (fn.object('arguments')?.obj ?? {});
    fn.rejectUnknown();
    c.rejectUnknown();
    return { ...(id !== undefined ? { id } : {}), type: 'function', function: { name, arguments: args } };
  });
}

export interface OllamaRequest {
  native: NativeRequest;
  /** `think` as sent (the route checks that the model has a thinking switch when it is true). */
  think?: boolean;
  /** No prompt / no messages: Ollama's "load the model" request, answered without generating. */
  loadOnly: boolean;
}

function common(f: Fields, prompts: PromptInput[]): NativeRequest {
  const keepAliveMs = readKeepAlive(f);
  rejectUnsupported(f, { tools: prompts.some((p) => p.kind === 'chat' && p.tools !== undefined) });
  const grammar = readOllamaFormat(f);
  const logprobs = readLogprobs(f);
  const o = withTopLevelOptions(f, readOllamaOptions(f.object('options')));
  return {
    model: '',
    prompts,
    n: 1,
    maxTokens: o.maxTokens,
    sampling: grammar === undefined ? o.sampling : { ...o.sampling, grammar },
    stop: o.stop,
    logprobs,
    numCtx: o.numCtx,
    stream: f.boolean('stream') ?? true,
    keepAliveMs,
    ...(grammar !== undefined ? { format: ollamaFormatSource(f) } : {}),
  };
}

export function generateRequestFromOllama(body: unknown): OllamaRequest {
  const f = new Fields(body);
  const model = f.required('model', (x, k) => x.string(k, { nonEmpty: true }));
  const prompt = f.string('prompt') ?? '';
  const images = readOllamaImages(f);
  const system = f.string('system');
  const raw = f.boolean('raw') ?? false;
  const think = readThink(f);
  const context = f.has('context') ? tokenIds(f.raw('context'), 'context') : undefined;
  const suffix = f.string('suffix');
  if (f.string('template')) throw unsupported('template', 'Go templates are not implemented; the model\'s own chat template is used (or raw: true)');
  for (const k of ['width', 'height', 'steps']) if (f.has(k)) throw unsupported(k, 'image generation is not implemented');
  let input: PromptInput;
  // A suffix: fill in the middle between prompt and suffix with the model's FIM tokens (no chat template).
  if (suffix) {
    if (context?.length) throw unsupported('suffix', 'suffix cannot continue a context; send the code before the cursor as prompt');
    if (images.length > 0) throw unsupported('images', 'images cannot go with a suffix (fill in the middle)');
    input = { kind: 'infill', prefix: prompt, suffix };
  } else if (raw || context?.length) {
    input = { kind: 'text', text: withImageMarkers(prompt, images), context, ...(images.length > 0 ? { images } : {}) };
  } else {
    const messages: ChatMessage[] = [];
    if (system) messages.push({ role: 'system', content: system });
    messages.push({ role: 'user', content: withImageMarkers(prompt, images), ...(images.length > 0 ? { images } : {}) });
    input = chatPrompt(messages, think);
  }
  const native = common(f, [input]);
  native.model = model;
  f.rejectUnknown();
  return { native, think, loadOnly: prompt === '' && images.length === 0 && !suffix && !context?.length };
}

const ROLES = ['system', 'user', 'assistant', 'tool'] as const;

/**
 * Ollama's API has no tool choice (Ollama reads no tool_choice field), but some clients send one with their tools
 * (the AI SDK's ollama-ai-provider-v2 sends "auto" whenever there are tools): "auto" is what Ollama does, so it is
 * accepted; any other choice is refused rather than dropped.
 */
function readOllamaToolChoice(f: Fields, mcp: boolean): 'required' | undefined {
  const v = f.raw('tool_choice');
  if (v === undefined || v === 'auto') return;
  // With hearth_mcp, Hearth's tool loop runs the calls, and "required" (OpenAI's) may force the first.
  if (mcp && v === 'required') return 'required';
  throw unsupported('tool_choice', `Ollama's API has no tool choice; only "auto" is accepted, got ${describe(v)} (use the OpenAI or Anthropic API to force a call)`);
}

export function chatRequestFromOllama(body: unknown): OllamaRequest {
  const f = new Fields(body);
  const model = f.required('model', (x, k) => x.string(k, { nonEmpty: true }));
  const list = f.array('messages') ?? [];
  const messages = f.children(list, 'messages').map((m): ChatMessage => {
    const role = m.required('role', (x, k) => x.oneOf(k, ROLES));
    const images = readOllamaImages(m);
    const content = withImageMarkers(m.string('content') ?? '', images);
    const calls = role === 'assistant' ? messageToolCalls(m) : undefined;
    m.string('thinking');
    m.string('tool_name');
    const callId = role === 'tool' ? m.string('tool_call_id') : undefined;
    m.rejectUnknown();
    const msg: ChatMessage = { role, content };
    if (images.length > 0) msg.images = images;
    if (calls) msg.toolCalls = calls;
    if (callId !== undefined) msg.toolCallId = callId;
    return msg;
  });
  const think = readThink(f);
  const tools = readFunctionTools(f);
  const mcp = readHearthMcp(f);
  const choice = readOllamaToolChoice(f, mcp !== undefined);
  const prompt = chatPrompt(messages, think, tools);
  if (choice && prompt.kind === 'chat') {
    prompt.toolChoice = choice;
    prompt.parallelToolCalls = false;
  }
  const native = common(f, [prompt]);
  native.model = model;
  if (mcp) native.mcp = mcp;
  f.rejectUnknown();
  return { native, think, loadOnly: messages.length === 0 };
}

/** Go's time.Duration: integer nanoseconds. */
export const ns = (ms: number): number => Math.round(ms * 1e6);

export interface OllamaLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs?: { token: string; logprob: number; bytes: number[] }[];
}

function logprobs(tokens: readonly TokenInfo[]): OllamaLogprob[] {
  const bytes = (s: string) => [...new TextEncoder().encode(s)];
  return tokens.filter((t) => t.logprob !== undefined).map((t) => ({
    token: t.piece,
    logprob: t.logprob!,
    bytes: bytes(t.piece),
    top_logprobs: t.top?.map((a) => ({ token: a.piece, logprob: a.logprob, bytes: bytes(a.piece) })),
  }));
}

export interface OllamaTimings {
  total_duration: number;
  load_duration: number;
  prompt_eval_count: number;
  prompt_eval_duration: number;
  eval_count: number;
  eval_duration: number;
}

/** Ollama's timing fields. load_duration is the wait for a slot: the model itself is loaded at startup. */
export function timings(r: ChoiceResult): OllamaTimings {
  return {
    total_duration: ns(r.timings.totalMs),
    load_duration: ns(r.timings.queueMs),
    prompt_eval_count: r.usage.promptTokens,
    prompt_eval_duration: ns(r.timings.promptMs),
    eval_count: r.usage.completionTokens,
    eval_duration: ns(r.timings.generateMs),
  };
}

type Kind = 'generate' | 'chat';

export interface OllamaToolCall {
  function: { index: number; name: string; arguments: Record<string, unknown> };
}

function ollamaToolCall(c: NativeToolCall, index: number): OllamaToolCall {
  return { function: { index, name: c.name, arguments: argumentsObject(c.arguments) } };
}

/** The text fields; `thinking` only when there is some (Ollama omits it when empty), tool calls when made. */
function body(kind: Kind, text: string, thinking = '', calls: OllamaToolCall[] = []): Record<string, unknown> {
  const think = thinking ? { thinking } : {};
  if (kind === 'generate') return { response: text, ...think };
  return { message: { role: 'assistant', content: text, ...think, ...(calls.length ? { tool_calls: calls } : {}) } };
}

/**
 * The whole answer as one object (stream: false); with `think`, the think block goes to `thinking` (with
 * tools the provider has already read it apart, as `reasoning`).
 */
export function ollamaResponse(kind: Kind, model: string, r: ChoiceResult, now: Date, think = false): Record<string, unknown> {
  const parts = think ? ThinkingSplitter.split(r.text) : { thinking: '', content: r.text };
  const thinking = think && r.reasoning ? r.reasoning + parts.thinking : parts.thinking;
  const calls = (r.toolCalls ?? []).map(ollamaToolCall);
  const out: Record<string, unknown> = {
    model, created_at: now.toISOString(), ...body(kind, parts.content, thinking, calls), done: true, done_reason: stopOrLength(r.reason),
  };
  if (kind === 'generate') out.context = [...r.promptTokens, ...r.tokens];
  Object.assign(out, timings(r));
  if (r.logprobs) out.logprobs = logprobs(r.logprobs);
  return out;
}

/** Answer to a request with no prompt: the model is (already) loaded. */
export function ollamaLoadResponse(kind: Kind, model: string, now: Date, reason: 'load' | 'unload' = 'load'): Record<string, unknown> {
  return { model, created_at: now.toISOString(), ...body(kind, ''), done: true, done_reason: reason };
}

/**
 * NDJSON lines: one per text delta, then the final object with done: true and the timings. With a splitter
 * (think: true) each delta's text is split into thinking and content, and what it held back comes before the
 * final object.
 */
export function ollamaStreamEvent(kind: Kind, model: string, ev: NativeEvent, now: Date, splitter?: ThinkingSplitter): Record<string, unknown>[] {
  const line = (parts: ThinkingParts) => ({ model, created_at: now.toISOString(), ...body(kind, parts.content, parts.thinking), done: false });
  if (ev.type === 'done') {
    const rest = splitter?.end();
    const last = ollamaResponse(kind, model, { ...ev.result, text: '', reasoning: undefined, toolCalls: undefined, logprobs: undefined }, now);
    return rest && (rest.thinking || rest.content) ? [line(rest), last] : [last];
  }
  if (ev.type === 'reasoning') return splitter ? [line({ thinking: ev.text, content: '' })] : [];
  // Ollama streams each call whole, in the chunk where it is complete.
  if (ev.type === 'tool_call_delta') return [];
  if (ev.type === 'tool_call') {
    return [{ model, created_at: now.toISOString(), ...body(kind, '', '', [ollamaToolCall(ev, ev.call)]), done: false }];
  }
  const scored = logprobs(ev.tokens);
  const parts = splitter ? splitter.push(ev.text) : { thinking: '', content: ev.text };
  if (parts.content === '' && parts.thinking === '' && scored.length === 0) return [];
  const out: Record<string, unknown> = line(parts);
  if (scored.length) out.logprobs = scored;
  return [out];
}
