// OpenAI POST /v1/responses, the request side: the wire body read into its parts (input items in one canonical
// shape, each with an id, as they are stored and listed), and those items with the stored conversation of
// `previous_response_id` turned into the chat messages of a NativeRequest.

import type { ChatMessage } from '../../chat/template.ts';
import type { ToolChoice, ToolSpec } from '../../chat/tools.ts';
import type { SamplingOptions } from '../../engine/sampler/index.ts';
import type { McpRequestUse, NativeRequest, PromptInput } from '../native.ts';
import { Fields, FieldError, unsupported } from '../validate.ts';
import { jsonObjectGrammar, schemaGrammar } from '../structured-output.ts';

export interface InputTextPart { type: 'input_text'; text: string }
export interface OutputTextPart { type: 'output_text'; text: string; annotations: unknown[]; logprobs: unknown[] }
export interface RefusalPart { type: 'refusal'; refusal: string }
export type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

export interface MessageItem {
  id: string;
  type: 'message';
  role: 'user' | 'system' | 'developer' | 'assistant';
  status: ItemStatus;
  content: (InputTextPart | OutputTextPart | RefusalPart)[];
}

export interface FunctionCallItem {
  id: string;
  type: 'function_call';
  call_id: string;
  name: string;
  arguments: string;
  status: ItemStatus;
}

export interface FunctionCallOutputItem {
  id: string;
  type: 'function_call_output';
  call_id: string;
  output: string;
  status: ItemStatus;
}

export interface ReasoningItem {
  id: string;
  type: 'reasoning';
  summary: { type: 'summary_text'; text: string }[];
  status?: ItemStatus;
}

/** One item of a conversation, in the shape Hearth stores, lists and returns it. */
export type ResponseItem = MessageItem | FunctionCallItem | FunctionCallOutputItem | ReasoningItem;

/** A function tool as a Response object echoes it. */
export interface WireFunctionTool {
  type: 'function';
  name: string;
  description: string | null;
  parameters: Record<string, unknown> | null;
  strict: boolean | null;
}

/**
 * OpenAI's remote MCP tool, as Hearth takes it: `server_label` names a server of the config file (never a
 * `server_url` from the request), `allowed_tools` narrows its tools, and calls run without approval.
 */
export interface WireMcpTool {
  type: 'mcp';
  server_label: string;
  allowed_tools: string[] | null;
  require_approval: 'never';
}

export type WireTool = WireFunctionTool | WireFileSearchTool | WireMcpTool;

/** The file_search tool as a Response object echoes it: `{type: "file_search", vector_store_ids, max_num_results, filters, ranking_options}`. */
export interface WireFileSearchTool {
  type: 'file_search';
  vector_store_ids: string[];
  max_num_results?: number;
  /** OpenAI's attribute filters, read by the knowledge base (src/knowledge/filters.ts). */
  filters: unknown;
  ranking_options?: { ranker?: string; score_threshold?: number };
}

export type WireTextFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: unknown; strict: boolean | null; description?: string };

export type WireToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; name: string };

/** The request fields a Response object carries back. */
export interface ResponseEcho {
  instructions: string | null;
  max_output_tokens: number | null;
  metadata: Record<string, string>;
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: string | null; summary: string | null };
  store: boolean;
  temperature: number | null;
  top_p: number | null;
  text: { format: WireTextFormat; verbosity?: string };
  tool_choice: WireToolChoice;
  tools: WireTool[];
  user?: string;
  /** The conversation the response belongs to. */
  conversation?: { id: string };
}

export interface ResponsesRequest {
  model: string;
  /** This request's input items, canonical and with ids. */
  input: ResponseItem[];
  instructions?: string;
  previousResponseId?: string;
  /** The conversation this turn continues and is appended to (`conversation`: an id or {id}). */
  conversation?: string;
  store: boolean;
  stream: boolean;
  maxOutputTokens?: number;
  sampling: SamplingOptions;
  tools?: ToolSpec[];
  toolChoice?: ToolChoice;
  parallelToolCalls: boolean;
  /** The file_search tool: passages retrieved from these vector stores go into the prompt. */
  fileSearch?: WireFileSearchTool;
  /** The `mcp` tools: configured MCP servers whose tools Hearth's tool loop runs. */
  mcp?: McpRequestUse[];
  /** include: ["file_search_call.results"]: the passages in the file_search_call item. */
  includeFileSearchResults?: boolean;
  /** The template's thinking switch as `reasoning.effort` sets it; undefined: the template's default. */
  enableThinking?: boolean;
  echo: ResponseEcho;
}

/** New item ids by type: `msg_`, `fc_`, `fco_`, `rs_` and a random tail (the route's id source). */
export type NewId = (prefix: string) => string;

/** A stored output item by its id, for `item_reference` inputs (undefined: none the caller may see). */
export type ItemLookup = (id: string) => unknown;

const MESSAGE_ROLES = ['user', 'system', 'developer', 'assistant'] as const;

/** Content as a string or input_text / output_text / refusal parts (images, files and audio are refused). */
function readContent(m: Fields, role: MessageItem['role']): MessageItem['content'] {
  const raw = m.raw('content');
  const assistant = role === 'assistant';
  const text = (t: string): InputTextPart | OutputTextPart =>
    assistant ? { type: 'output_text', text: t, annotations: [], logprobs: [] } : { type: 'input_text', text: t };
  if (raw === undefined) throw new FieldError(m.name('content'), `${m.name('content')} is required`);
  if (typeof raw === 'string') return [text(raw)];
  if (!Array.isArray(raw)) throw new FieldError(m.name('content'), `${m.name('content')} must be a string or an array of content parts`);
  return m.children(raw, m.name('content')).map((p) => {
    const type = p.required('type', (x, k) => x.string(k));
    if (type === 'input_text' || type === 'output_text' || type === 'text') {
      const t = p.required('text', (x, k) => x.string(k));
      p.raw('annotations');
      p.raw('logprobs');
      p.raw('prompt_cache_breakpoint');
      p.rejectUnknown();
      return text(t);
    }
    if (type === 'refusal' && assistant) {
      const refusal = p.required('refusal', (x, k) => x.string(k));
      p.rejectUnknown();
      return { type: 'refusal', refusal };
    }
    throw unsupported(p.name('type'), `content part type ${JSON.stringify(type)}: only text parts are supported (the model reads no images, audio or files)`);
  });
}

/** A function_call_output's output: a string, or input_text parts joined. */
function readOutput(f: Fields): string {
  const raw = f.raw('output');
  if (typeof raw === 'string') return raw;
  if (!Array.isArray(raw)) throw new FieldError(f.name('output'), `${f.name('output')} must be a string or an array of input_text parts`);
  return f.children(raw, f.name('output')).map((p) => {
    const type = p.string('type');
    if (type !== 'input_text') throw unsupported(p.name('type'), `output part type ${JSON.stringify(type)}: only input_text parts are supported`);
    const t = p.required('text', (x, k) => x.string(k));
    p.rejectUnknown();
    return t;
  }).join('');
}

const STATUSES = ['in_progress', 'completed', 'incomplete'] as const;

/** One input item (an item_reference reads as the stored item it names). */
export function readItem(f: Fields, newId: NewId, lookup: ItemLookup): ResponseItem {
  const type = f.string('type') ?? 'message';
  if (type === 'item_reference') {
    const ref = f.required('id', (x, k) => x.string(k, { nonEmpty: true }));
    f.rejectUnknown();
    const item = lookup(ref);
    if (item === undefined) throw new FieldError(f.name('id'), `item_reference ${JSON.stringify(ref)}: no stored output item has this id`, 'not_found');
    // A stored item was read by this function when it was made, so it reads again (with its own id).
    return readItem(f.child(item, f.path), newId, () => undefined);
  }
  const id = f.string('id');
  const status = f.oneOf('status', STATUSES) ?? 'completed';
  if (type === 'message') {
    const role = f.required('role', (x, k) => x.oneOf(k, MESSAGE_ROLES));
    const content = readContent(f, role);
    f.raw('phase');
    f.rejectUnknown();
    return { id: id ?? newId('msg_'), type, role, status, content };
  }
  if (type === 'function_call') {
    const callId = f.required('call_id', (x, k) => x.string(k, { nonEmpty: true }));
    const name = f.required('name', (x, k) => x.string(k, { nonEmpty: true }));
    const args = f.string('arguments') ?? '{}';
    f.rejectUnknown();
    return { id: id ?? newId('fc_'), type, call_id: callId, name, arguments: args, status };
  }
  if (type === 'function_call_output') {
    const callId = f.required('call_id', (x, k) => x.string(k, { nonEmpty: true }));
    const output = readOutput(f);
    f.string('name');
    f.rejectUnknown();
    return { id: id ?? newId('fco_'), type, call_id: callId, output, status };
  }
  if (type === 'reasoning') {
    const summary = f.children(f.array('summary') ?? [], f.name('summary')).map((p) => {
      p.oneOf('type', ['summary_text']);
      const text = p.required('text', (x, k) => x.string(k));
      p.rejectUnknown();
      return { type: 'summary_text' as const, text };
    });
    // Reasoning text parts (reasoning_text) are read as summary: both are the thinking the template shows again.
    for (const p of f.children(f.array('content') ?? [], f.name('content'))) {
      p.oneOf('type', ['reasoning_text']);
      summary.push({ type: 'summary_text', text: p.required('text', (x, k) => x.string(k)) });
      p.rejectUnknown();
    }
    if (f.has('encrypted_content')) throw unsupported(f.name('encrypted_content'), 'Hearth issues no encrypted reasoning; send the summary text');
    f.rejectUnknown();
    return { id: id ?? newId('rs_'), type, summary };
  }
  throw unsupported(f.name('type'), `input item type ${JSON.stringify(type)}: only message, function_call, function_call_output, reasoning and item_reference items are implemented`);
}

/** `input`: a string (one user message) or a list of items. */
export function readInput(f: Fields, newId: NewId, lookup: ItemLookup): ResponseItem[] {
  const raw = f.raw('input');
  if (raw === undefined) throw new FieldError('input', 'input is required');
  if (typeof raw === 'string') return [{ id: newId('msg_'), type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: raw }] }];
  if (!Array.isArray(raw)) throw new FieldError('input', 'input must be a string or an array of input items');
  return f.children(raw, 'input').map((item) => readItem(item, newId, lookup));
}

/** Function tools in the Responses shape `{type: "function", name, description, parameters, strict}`. */
function readMcpTool(t: Fields): WireMcpTool {
  for (const k of ['server_url', 'connector_id', 'headers', 'authorization']) {
    if (t.has(k)) throw new FieldError(t.name(k), `${t.name(k)}: MCP servers are declared in the server's config file (mcp_servers:) only; name one with server_label`);
  }
  const label = t.required('server_label', (x, k) => x.string(k, { nonEmpty: true }));
  t.string('server_description');
  const approval = t.raw('require_approval');
  if (approval !== undefined && approval !== 'never') {
    throw unsupported(t.name('require_approval'), 'approval requests are not implemented: Hearth runs the calls of a configured server itself; send require_approval: "never"');
  }
  const raw = t.raw('allowed_tools');
  let allowed: string[] | null = null;
  if (Array.isArray(raw)) allowed = raw as string[];
  else if (raw !== undefined && raw !== null) {
    const a = t.child(raw, t.name('allowed_tools'));
    allowed = a.required('tool_names', (x, k) => x.array(k)) as string[];
    a.raw('read_only');
    a.rejectUnknown();
  }
  if (allowed && !allowed.every((n) => typeof n === 'string' && n !== '')) throw new FieldError(t.name('allowed_tools'), 'allowed_tools must list tool names');
  t.rejectUnknown();
  return { type: 'mcp', server_label: label, allowed_tools: allowed, require_approval: 'never' };
}

function readTools(f: Fields): { specs: ToolSpec[]; wire: WireTool[]; fileSearch?: WireFileSearchTool; mcp?: McpRequestUse[] } | undefined {
  const list = f.array('tools');
  if (!list?.length) return undefined;
  const seen = new Set<string>();
  let fileSearch: WireFileSearchTool | undefined;
  const all0: WireMcpTool[] = [];
  const all = f.children(list, 'tools').map((t): WireTool => {
    const type = t.required('type', (x, k) => x.string(k));
    if (type === 'mcp') {
      const m = readMcpTool(t);
      if (all0.some((x) => x.server_label === m.server_label)) throw new FieldError(t.path, `${t.path} repeats the MCP server "${m.server_label}"`);
      all0.push(m);
      return m;
    }
    if (type === 'file_search') {
      if (fileSearch) throw new FieldError(t.path, `${t.path}: one file_search tool per request (list every store in its vector_store_ids)`);
      const ids = t.required('vector_store_ids', (x, k) => x.array(k));
      if (!ids.length || !ids.every((id) => typeof id === 'string')) throw new FieldError(t.name('vector_store_ids'), 'vector_store_ids must be a non-empty array of vector store ids');
      const max = t.number('max_num_results', { integer: true, min: 1, max: 50 });
      const ranking = t.object('ranking_options');
      const threshold = ranking?.number('score_threshold', { min: 0, max: 1 });
      ranking?.string('ranker');
      ranking?.rejectUnknown();
      fileSearch = {
        type: 'file_search', vector_store_ids: ids as string[], filters: t.raw('filters') ?? null,
        ...(max !== undefined ? { max_num_results: max } : {}), ...(threshold !== undefined ? { ranking_options: { score_threshold: threshold } } : {}),
      };
      t.rejectUnknown();
      return fileSearch;
    }
    if (type !== 'function') {
      throw unsupported(t.name('type'), `tool type ${JSON.stringify(type)}: built-in tools (web search, file search, code interpreter, computer use, MCP…) are not implemented; only function tools`);
    }
    const name = t.required('name', (x, k) => x.string(k, { nonEmpty: true }));
    if (seen.has(name)) throw new FieldError(t.path, `${t.path} repeats the tool name ${JSON.stringify(name)}`);
    seen.add(name);
    const description = t.string('description') ?? null;
    const parameters = t.object('parameters')?.obj ?? null;
    const strict = t.boolean('strict') ?? null;
    t.rejectUnknown();
    return { type: 'function', name, description, parameters, strict };
  });
  const functions = all.filter((w): w is WireFunctionTool => w.type === 'function');
  const specs = functions.map((w): ToolSpec => ({
    name: w.name, parameters: w.parameters ?? { type: 'object', properties: {} }, ...(w.description !== null ? { description: w.description } : {}),
  }));
  const mcp = all0.map((m): McpRequestUse => ({ label: m.server_label, ...(m.allowed_tools ? { allowedTools: m.allowed_tools } : {}) }));
  return { specs, wire: all, ...(fileSearch ? { fileSearch } : {}), ...(mcp.length ? { mcp } : {}) };
}

/** "none" | "auto" | "required" | {type: "function", name}; hosted-tool and allowed-tools choices are refused. */
function readToolChoice(f: Fields): WireToolChoice | undefined {
  const v = f.raw('tool_choice');
  if (v === undefined) return undefined;
  if (v === 'none' || v === 'auto' || v === 'required') return v;
  if (typeof v === 'string') throw new FieldError('tool_choice', `tool_choice must be "none", "auto", "required" or {"type": "function", "name": …}; got ${JSON.stringify(v)}`);
  const c = f.child(v, 'tool_choice');
  const type = c.required('type', (x, k) => x.string(k));
  if (type !== 'function') throw unsupported('tool_choice.type', `tool_choice of type ${JSON.stringify(type)}: only "function" (a named function tool) is implemented`);
  const name = c.required('name', (x, k) => x.string(k, { nonEmpty: true }));
  c.rejectUnknown();
  return { type: 'function', name };
}

/** `text.format`: text, json_object, or json_schema {name, schema, strict} as a grammar. */
function readText(f: Fields): { echo: ResponseEcho['text']; grammar?: string } {
  const t = f.object('text');
  const verbosity = t?.oneOf('verbosity', ['low', 'medium', 'high']);
  const fmt = t?.object('format');
  const out = (format: WireTextFormat, grammar?: string) => {
    t?.rejectUnknown();
    return { echo: { format, ...(verbosity !== undefined ? { verbosity } : {}) }, ...(grammar !== undefined ? { grammar } : {}) };
  };
  if (!fmt) return out({ type: 'text' });
  const type = fmt.required('type', (x, k) => x.oneOf(k, ['text', 'json_object', 'json_schema']));
  if (type === 'text' || type === 'json_object') {
    fmt.rejectUnknown();
    return type === 'text' ? out({ type }) : out({ type }, jsonObjectGrammar());
  }
  const name = fmt.required('name', (x, k) => x.string(k, { nonEmpty: true }));
  const description = fmt.string('description');
  // Constrained sampling holds every schema to the letter, so strict false does not loosen the grammar.
  const strict = fmt.boolean('strict') ?? null;
  const schema = fmt.required('schema', (x, k) => x.raw(k));
  const grammar = schemaGrammar(schema, 'text.format.schema');
  fmt.rejectUnknown();
  return out({ type: 'json_schema', name, schema, strict, ...(description !== undefined ? { description } : {}) }, grammar);
}

/** `metadata`: at most 16 string pairs (keys up to 64 characters, values up to 512), as OpenAI allows. */
export function readMetadata(f: Fields): Record<string, string> {
  const m = f.object('metadata');
  if (!m) return {};
  const keys = Object.keys(m.obj);
  if (keys.length > 16) throw new FieldError('metadata', `metadata has ${keys.length} keys; at most 16 are allowed`);
  const out: Record<string, string> = {};
  for (const k of keys) {
    if (k.length > 64) throw new FieldError(m.name(k), `metadata keys are at most 64 characters; ${JSON.stringify(k.slice(0, 20))}… has ${k.length}`);
    const v = m.string(k);
    if (v === undefined) continue;
    if (v.length > 512) throw new FieldError(m.name(k), `${m.name(k)} is ${v.length} characters; at most 512 are allowed`);
    out[k] = v;
  }
  return out;
}

/** `conversation`: a conversation id, or {id}. */
function readConversationParam(f: Fields): string | undefined {
  const raw = f.raw('conversation');
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') {
    if (!raw) throw new FieldError('conversation', 'conversation must not be empty');
    return raw;
  }
  const c = f.child(raw, 'conversation');
  const id = c.required('id', (x, k) => x.string(k, { nonEmpty: true }));
  c.rejectUnknown();
  return id;
}

/** Reads a POST /v1/responses body; every field it cannot honour is a 400 naming it. */
export function responsesRequestFromOpenAI(body: unknown, newId: NewId, lookup: ItemLookup = () => undefined): ResponsesRequest {
  const f = new Fields(body);
  const model = f.required('model', (x, k) => x.string(k, { nonEmpty: true }));
  const input = readInput(f, newId, lookup);
  const instructions = f.raw('instructions');
  if (instructions !== undefined && typeof instructions !== 'string') {
    throw unsupported('instructions', 'instructions as a list of items is not implemented; send a string (or put the items in input)');
  }
  const previousResponseId = f.string('previous_response_id', { nonEmpty: true });
  const conversation = readConversationParam(f);
  if (conversation !== undefined && previousResponseId !== undefined) {
    throw new FieldError('conversation', 'conversation and previous_response_id cannot both be given: a response continues one or the other');
  }
  const store = f.boolean('store') ?? true;
  const stream = f.boolean('stream') ?? false;
  const so = f.object('stream_options');
  if (so) {
    if (!stream) throw new FieldError('stream_options', 'stream_options is only allowed when stream is true');
    so.boolean('include_obfuscation');
    so.rejectUnknown();
  }
  const maxOutputTokens = f.number('max_output_tokens', { integer: true, min: 1 });
  const temperature = f.number('temperature', { min: 0, max: 2 });
  const topP = f.number('top_p', { min: 0, max: 1 });
  let seed = f.number('seed', { integer: true, min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
  if (seed !== undefined) seed = ((seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
  const text = readText(f);
  const tools = readTools(f);
  const choice = readToolChoice(f);
  if (choice !== undefined && choice !== 'none' && choice !== 'auto') {
    if (!tools?.specs.length && !tools?.mcp) throw new FieldError('tool_choice', 'tool_choice forces a call, but the request has no function or mcp tools');
    if (typeof choice === 'object' && !tools!.specs.some((t) => t.name === choice.name)) {
      throw new FieldError('tool_choice.name', `tool_choice names ${JSON.stringify(choice.name)}, which is not among the tools`);
    }
  }
  const parallel = f.boolean('parallel_tool_calls') ?? true;
  const r = f.object('reasoning');
  const effort = r?.oneOf('effort', ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max']);
  const summary = r?.oneOf('summary', ['auto', 'concise', 'detailed']) ?? r?.oneOf('generate_summary', ['auto', 'concise', 'detailed']);
  r?.rejectUnknown();
  const metadata = readMetadata(f);
  const user = f.string('user');
  // Hints that change nothing here: which cache bucket or abuse identity a request belongs to, the service tier.
  for (const k of ['prompt_cache_key', 'safety_identifier', 'service_tier', 'max_tool_calls']) f.raw(k);
  if (f.boolean('background')) throw unsupported('background', 'background responses are not implemented; send stream: true to read a long response as it is written');
  const truncation = f.oneOf('truncation', ['auto', 'disabled']);
  if (truncation === 'auto') throw unsupported('truncation', 'truncation "auto" is not implemented: an input longer than the context is a 400');
  const include = f.array('include');
  const other = include?.find((x) => x !== 'file_search_call.results');
  if (other !== undefined) throw unsupported('include', `include ${JSON.stringify(other)}: only file_search_call.results is implemented`);
  const includeFileSearchResults = include?.includes('file_search_call.results') ?? false;
  const topLogprobs = f.number('top_logprobs', { integer: true, min: 0, max: 20 });
  if (topLogprobs) throw unsupported('top_logprobs', 'log-probabilities are not implemented for the Responses API; use /v1/chat/completions');
  for (const k of ['prompt', 'modalities', 'audio', 'moderation', 'context_management', 'prompt_cache_options']) {
    if (f.has(k)) throw unsupported(k, 'this model runtime has no such feature');
  }
  f.rejectUnknown();
  const sampling: SamplingOptions = { temperature, topP, seed };
  if (text.grammar !== undefined) sampling.grammar = text.grammar;
  return {
    model, input, store, stream, sampling, parallelToolCalls: parallel,
    ...(typeof instructions === 'string' ? { instructions } : {}),
    ...(previousResponseId !== undefined ? { previousResponseId } : {}),
    ...(conversation !== undefined ? { conversation } : {}),
    ...(maxOutputTokens !== undefined ? { maxOutputTokens } : {}),
    ...(tools?.specs.length ? { tools: tools.specs } : {}),
    ...(tools?.fileSearch ? { fileSearch: tools.fileSearch, includeFileSearchResults } : {}),
    ...(tools?.mcp ? { mcp: tools.mcp } : {}),
    ...((tools?.specs.length || tools?.mcp) && choice !== undefined ? { toolChoice: typeof choice === 'object' ? { name: choice.name } : choice } : {}),
    // "none" and "minimal" turn the template's thinking off, the other levels on (as reasoning_effort in chat).
    ...(effort !== undefined ? { enableThinking: effort !== 'none' && effort !== 'minimal' } : {}),
    echo: {
      instructions: typeof instructions === 'string' ? instructions : null,
      max_output_tokens: maxOutputTokens ?? null,
      metadata,
      parallel_tool_calls: parallel,
      previous_response_id: previousResponseId ?? null,
      reasoning: { effort: effort ?? null, summary: summary ?? null },
      store,
      // null when not given: the model's defaults (Hearth's, or its preset's) apply.
      temperature: temperature ?? null,
      top_p: topP ?? null,
      text: text.echo,
      tool_choice: choice ?? 'auto',
      tools: tools?.wire ?? [],
      ...(user !== undefined ? { user } : {}),
      ...(conversation !== undefined ? { conversation: { id: conversation } } : {}),
    },
  };
}

function itemText(item: MessageItem): string {
  return item.content.map((p) => (p.type === 'refusal' ? p.refusal : p.text)).join('');
}

/**
 * Conversation items as chat messages: a function_call joins the assistant turn before it (or opens one), a
 * function_call_output is a tool message, a reasoning item becomes the next assistant turn's reasoning_content,
 * and "developer" is the system role.
 */
export function messagesOfItems(items: readonly ResponseItem[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  const names = new Map<string, string>();
  let reasoning: string | undefined;
  const assistant = (content: string): ChatMessage => {
    const m: ChatMessage = { role: 'assistant', content };
    if (reasoning !== undefined) m.reasoningContent = reasoning;
    reasoning = undefined;
    out.push(m);
    return m;
  };
  for (const item of items) {
    // The output items of Hearth's MCP tool loop in a stored response: a call and its result are the assistant's
    // tool call and a tool message; a tool listing is not part of the conversation.
    const mcp = item as unknown as { type: string; id: string; name: string; arguments: string; output: string | null; error: string | null };
    if (mcp.type === 'mcp_list_tools') continue;
    if (mcp.type === 'mcp_call') {
      const last = out.at(-1);
      const turn = last?.role === 'assistant' && reasoning === undefined ? last : assistant('');
      (turn.toolCalls ??= []).push({ id: mcp.id, type: 'function', function: { name: mcp.name, arguments: mcp.arguments } });
      out.push({ role: 'tool', toolCallId: mcp.id, name: mcp.name, content: mcp.output ?? `error: ${mcp.error ?? 'no result'}` });
      continue;
    }
    if (item.type === 'message') {
      if (item.role === 'assistant') assistant(itemText(item));
      else out.push({ role: item.role === 'developer' ? 'system' : item.role, content: itemText(item) });
    } else if (item.type === 'function_call') {
      names.set(item.call_id, item.name);
      const last = out.at(-1);
      const turn = last?.role === 'assistant' && reasoning === undefined ? last : assistant('');
      (turn.toolCalls ??= []).push({ id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } });
    } else if (item.type === 'function_call_output') {
      const m: ChatMessage = { role: 'tool', content: item.output, toolCallId: item.call_id };
      const name = names.get(item.call_id);
      if (name !== undefined) m.name = name;
      out.push(m);
    } else {
      const text = item.summary.map((s) => s.text).join('\n\n');
      reasoning = reasoning === undefined ? text : `${reasoning}\n\n${text}`;
    }
  }
  return out;
}

/**
 * The native request: the instructions as the system prompt, then the stored conversation (`history`: the
 * input and output items of every response the chain went through), then this request's input. A template's
 * rendering of the earlier turns is the prompt those turns had, so the scheduler's prefix cache reuses their KV.
 */
export function responsesNative(req: ResponsesRequest, history: readonly ResponseItem[]): NativeRequest {
  const messages = messagesOfItems([...history, ...req.input]);
  // The instructions open the system prompt; a system (or developer) message that begins the input joins them,
  // since many templates take one system message, first.
  if (req.instructions !== undefined) {
    const first = messages[0];
    if (first?.role === 'system') messages[0] = { ...first, content: `${req.instructions}\n\n${first.content}` };
    else messages.unshift({ role: 'system', content: req.instructions });
  }
  if (messages.length === 0) throw new FieldError('input', 'input must not be empty');
  // A thinking section the model writes is read apart (the output's reasoning item).
  const prompt: PromptInput = { kind: 'chat', messages, splitReasoning: true };
  if (req.enableThinking !== undefined) prompt.templateVars = { enable_thinking: req.enableThinking };
  if (req.tools || req.mcp) {
    if (req.tools) prompt.tools = req.tools;
    if (req.toolChoice !== undefined) prompt.toolChoice = req.toolChoice;
    if (!req.parallelToolCalls) prompt.parallelToolCalls = false;
  }
  const native: NativeRequest = { model: req.model, prompts: [prompt], n: 1, sampling: req.sampling, stop: [], stream: req.stream };
  if (req.mcp) native.mcp = req.mcp;
  if (req.maxOutputTokens !== undefined) native.maxTokens = req.maxOutputTokens;
  return native;
}
