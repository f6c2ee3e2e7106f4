// OpenAI POST /v1/responses, the answer side: native events built into a Response object's output items
// (reasoning, message, function_call), and the semantic stream events that tell a client each step, in order,
// each with its sequence_number. The same builder makes the non-streamed answer, so both agree item for item.

import type { ChoiceResult, NativeEvent } from '../native.ts';
import type { ErrorInfo } from '../errors.ts';
import { openaiError } from '../errors.ts';
import type { FunctionCallItem, MessageItem, NewId, OutputTextPart, ReasoningItem, ResponseEcho, ResponseItem } from './responses-request.ts';

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number; cache_write_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

export interface ResponseObject extends Omit<ResponseEcho, 'user'> {
  id: string;
  object: 'response';
  created_at: number;
  status: ResponseStatus;
  background: false;
  completed_at: number | null;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: 'max_output_tokens' } | null;
  max_tool_calls: null;
  model: string;
  output: ResponseItem[];
  service_tier: 'default';
  top_logprobs: number;
  truncation: 'disabled';
  /** Absent until the response has finished. */
  usage?: ResponseUsage;
  user?: string;
}

/** One semantic stream event; `type` is also the SSE event name. */
export interface StreamEvent {
  type: string;
  sequence_number: number;
  [k: string]: unknown;
}

/** OpenAI's mcp_call output item. */
export interface McpCallItem {
  id: string;
  type: 'mcp_call';
  server_label: string;
  name: string;
  arguments: string;
  output: string | null;
  error: string | null;
  status: 'in_progress' | 'completed' | 'failed';
}

export interface ResponseBuilderOptions {
  id: string;
  /** Unix seconds. */
  createdAt: number;
  model: string;
  echo: ResponseEcho;
  newId: NewId;
  /** Unix seconds, for completed_at. */
  now: () => number;
}

const outputText = (text: string): OutputTextPart => ({ type: 'output_text', text, annotations: [], logprobs: [] });

/** Events and output of one response; feed it a choice's native events, in order. */
export class ResponseBuilder {
  private readonly o: ResponseBuilderOptions;
  private readonly output: ResponseItem[] = [];
  private seq = 0;
  private status: ResponseStatus = 'in_progress';
  private usage: ResponseUsage | null = null;
  private completedAt: number | null = null;
  private incomplete = false;
  private error: ResponseObject['error'] = null;
  /** The items still being written: a reasoning item or a message (text of the other kind closes it), and calls. */
  private reasoning: ReasoningItem | undefined;
  private message: MessageItem | undefined;
  /** Open calls by the choice's call number. */
  private readonly calls = new Map<number, FunctionCallItem>();
  /** Tokens of parse steps that produced reasoning and no content. */
  private reasoningTokens = 0;
  private lastWasReasoning = false;

  constructor(o: ResponseBuilderOptions) {
    this.o = o;
  }

  private ev(type: string, fields: Record<string, unknown>): StreamEvent {
    return { type, sequence_number: this.seq++, ...fields };
  }

  /** The response as it stands (the whole answer once finish() has run). */
  response(): ResponseObject {
    const { user, ...echo } = this.o.echo;
    return {
      id: this.o.id, object: 'response', created_at: this.o.createdAt, status: this.status, background: false,
      completed_at: this.completedAt, error: this.error,
      incomplete_details: this.incomplete ? { reason: 'max_output_tokens' } : null,
      ...echo, max_tool_calls: null, model: this.o.model, output: structuredClone(this.output),
      service_tier: 'default', top_logprobs: 0, truncation: 'disabled', ...(this.usage ? { usage: this.usage } : {}),
      ...(user !== undefined ? { user } : {}),
    };
  }

  /** response.created and response.in_progress. */
  start(): StreamEvent[] {
    return [this.ev('response.created', { response: this.response() }), this.ev('response.in_progress', { response: this.response() })];
  }

  private index(item: ResponseItem): number {
    return this.output.indexOf(item);
  }

  private add(item: ResponseItem): StreamEvent {
    this.output.push(item);
    return this.ev('response.output_item.added', { output_index: this.index(item), item: structuredClone(item) });
  }

  private openReasoning(): StreamEvent[] {
    if (this.reasoning) return [];
    const out = this.closeAll();
    const item: ReasoningItem = { id: this.o.newId('rs_'), type: 'reasoning', summary: [] };
    this.reasoning = item;
    out.push(this.add(item));
    item.summary.push({ type: 'summary_text', text: '' });
    out.push(this.ev('response.reasoning_summary_part.added', {
      item_id: item.id, output_index: this.index(item), summary_index: 0, part: { type: 'summary_text', text: '' },
    }));
    return out;
  }

  private reasoningText(text: string): StreamEvent[] {
    if (text === '') return [];
    const out = this.openReasoning();
    const item = this.reasoning!;
    item.summary[0].text += text;
    out.push(this.ev('response.reasoning_summary_text.delta', { item_id: item.id, output_index: this.index(item), summary_index: 0, delta: text }));
    return out;
  }

  private closeReasoning(): StreamEvent[] {
    const item = this.reasoning;
    if (!item) return [];
    this.reasoning = undefined;
    const at = { item_id: item.id, output_index: this.index(item), summary_index: 0 };
    const part = item.summary[0];
    return [
      this.ev('response.reasoning_summary_text.done', { ...at, text: part.text }),
      this.ev('response.reasoning_summary_part.done', { ...at, part: { ...part } }),
      this.ev('response.output_item.done', { output_index: at.output_index, item: structuredClone(item) }),
    ];
  }

  private contentText(text: string): StreamEvent[] {
    if (text === '') return [];
    const out: StreamEvent[] = [];
    if (!this.message) out.push(...this.openMessage());
    const item = this.message!;
    (item.content[0] as OutputTextPart).text += text;
    out.push(this.ev('response.output_text.delta', { item_id: item.id, output_index: this.index(item), content_index: 0, delta: text, logprobs: [] }));
    return out;
  }

  private openMessage(): StreamEvent[] {
    const out = this.closeAll();
    const item: MessageItem = { id: this.o.newId('msg_'), type: 'message', role: 'assistant', status: 'in_progress', content: [] };
    this.message = item;
    out.push(this.add(item));
    item.content.push(outputText(''));
    out.push(this.ev('response.content_part.added', { item_id: item.id, output_index: this.index(item), content_index: 0, part: outputText('') }));
    return out;
  }

  private closeMessage(status: MessageItem['status'] = 'completed'): StreamEvent[] {
    const item = this.message;
    if (!item) return [];
    this.message = undefined;
    item.status = status;
    const part = item.content[0] as OutputTextPart;
    const at = { item_id: item.id, output_index: this.index(item), content_index: 0 };
    return [
      this.ev('response.output_text.done', { ...at, text: part.text, logprobs: [] }),
      this.ev('response.content_part.done', { ...at, part: structuredClone(part) }),
      this.ev('response.output_item.done', { output_index: at.output_index, item: structuredClone(item) }),
    ];
  }

  /** A function_call item with empty arguments; callArguments() fills them in. */
  private openCall(call: number, callId: string, name: string): StreamEvent[] {
    const out = [...this.closeReasoning(), ...this.closeMessage()];
    const item: FunctionCallItem = { id: this.o.newId('fc_'), type: 'function_call', call_id: callId, name, arguments: '', status: 'in_progress' };
    this.calls.set(call, item);
    out.push(this.add(item));
    return out;
  }

  /** A piece of an open call's arguments, as the model writes them: the one place their delta events come from. */
  private callArguments(call: number, piece: string): StreamEvent[] {
    const item = this.calls.get(call);
    if (!item || piece === '') return [];
    item.arguments += piece;
    return [this.ev('response.function_call_arguments.delta', { item_id: item.id, output_index: this.index(item), delta: piece })];
  }

  /**
   * The call is whole: what its pieces had not yet said of `whole` (when given), then its done events; a call
   * still open when the output was cut short is `incomplete`.
   */
  private closeCall(call: number, whole?: string, status: FunctionCallItem['status'] = 'completed'): StreamEvent[] {
    const item = this.calls.get(call);
    if (!item) return [];
    const out: StreamEvent[] = [];
    if (whole !== undefined && whole !== item.arguments) {
      if (whole.startsWith(item.arguments)) out.push(...this.callArguments(call, whole.slice(item.arguments.length)));
      else item.arguments = whole;
    }
    this.calls.delete(call);
    item.status = status;
    const at = { item_id: item.id, output_index: this.index(item) };
    out.push(
      this.ev('response.function_call_arguments.done', { ...at, name: item.name, arguments: item.arguments }),
      this.ev('response.output_item.done', { output_index: at.output_index, item: structuredClone(item) }),
    );
    return out;
  }

  private closeAll(status?: MessageItem['status']): StreamEvent[] {
    return [...this.closeReasoning(), ...this.closeMessage(status), ...[...this.calls.keys()].flatMap((c) => this.closeCall(c, undefined, status))];
  }

  /** The stream events for one native event of the choice. */
  event(ev: NativeEvent): StreamEvent[] {
    if (ev.type === 'reasoning') {
      this.lastWasReasoning = true;
      return this.reasoningText(ev.text);
    }
    if (ev.type === 'delta') {
      // A parse step's reasoning comes just before its delta, which carries the step's tokens.
      if (this.lastWasReasoning && ev.text === '') this.reasoningTokens += ev.tokens.length;
      this.lastWasReasoning = false;
      return this.contentText(ev.text);
    }
    this.lastWasReasoning = false;
    if (ev.type === 'tool_call_delta') {
      // The first piece of a call names it; the others carry more of its arguments.
      const open = ev.name !== undefined && !this.calls.has(ev.call) ? this.openCall(ev.call, ev.id ?? this.o.newId('call_'), ev.name) : [];
      return [...open, ...this.callArguments(ev.call, ev.arguments)];
    }
    if (ev.type === 'tool_call') {
      const open = this.calls.has(ev.call) ? [] : this.openCall(ev.call, ev.id, ev.name);
      return [...open, ...this.closeCall(ev.call, ev.arguments)];
    }
    return this.finish(ev.result);
  }

  /** An MCP server's tools, listed for this response: an mcp_list_tools item. */
  mcpListTools(server: string, tools: readonly { name: string; description?: string; inputSchema: unknown; annotations?: unknown }[]): StreamEvent[] {
    const out = this.closeAll();
    const item = {
      id: this.o.newId('mcpl_'), type: 'mcp_list_tools', server_label: server, error: null,
      tools: tools.map((t) => ({ name: t.name, description: t.description ?? null, input_schema: t.inputSchema, annotations: t.annotations ?? null })),
    } as unknown as ResponseItem;
    out.push(this.add(item));
    const at = { item_id: item.id, output_index: this.index(item) };
    out.push(this.ev('response.mcp_list_tools.in_progress', at), this.ev('response.mcp_list_tools.completed', at),
      this.ev('response.output_item.done', { output_index: at.output_index, item: structuredClone(item) }));
    return out;
  }

  private readonly mcpCalls = new Map<string, McpCallItem>();

  /** Hearth starts an MCP call the model made: an mcp_call item in progress, its arguments. */
  mcpCallStart(id: string, server: string, name: string, args: string): StreamEvent[] {
    const out = this.closeAll();
    const item: McpCallItem = { id, type: 'mcp_call', server_label: server, name, arguments: args, output: null, error: null, status: 'in_progress' };
    this.mcpCalls.set(id, item);
    out.push(this.add(item as unknown as ResponseItem));
    const at = { item_id: id, output_index: this.index(item as unknown as ResponseItem) };
    out.push(this.ev('response.mcp_call.in_progress', at));
    if (args) out.push(this.ev('response.mcp_call_arguments.delta', { ...at, delta: args }));
    out.push(this.ev('response.mcp_call_arguments.done', { ...at, arguments: args }));
    return out;
  }

  /** The call's result (output) or failure (error). */
  mcpCallDone(r: { id: string; output?: string; error?: string }): StreamEvent[] {
    const item = this.mcpCalls.get(r.id);
    if (!item) return [];
    this.mcpCalls.delete(r.id);
    item.output = r.output ?? null;
    item.error = r.error ?? null;
    item.status = r.output !== undefined && r.error === undefined ? 'completed' : 'failed';
    const at = { item_id: item.id, output_index: this.index(item as unknown as ResponseItem) };
    return [this.ev(item.status === 'completed' ? 'response.mcp_call.completed' : 'response.mcp_call.failed', at),
      this.ev('response.output_item.done', { output_index: at.output_index, item: structuredClone(item) })];
  }

  /** The choice ended: every open item closed, then completed or incomplete. */
  finish(r: ChoiceResult): StreamEvent[] {
    const out: StreamEvent[] = [];
    this.incomplete = r.reason === 'length';
    // A reply with neither text nor calls is still one (empty) message.
    if (this.output.every((i) => i.type !== 'message' && i.type !== 'function_call')) out.push(...this.openMessage());
    out.push(...this.closeAll(this.incomplete ? 'incomplete' : 'completed'));
    const u = r.usage;
    this.usage = {
      input_tokens: u.promptTokens,
      // cache_write_tokens: the prompt tokens whose KV this request computed and wrote to the slot's cache.
      input_tokens_details: { cached_tokens: u.cachedTokens, cache_write_tokens: u.promptTokens - u.cachedTokens },
      output_tokens: u.completionTokens,
      output_tokens_details: { reasoning_tokens: Math.min(this.reasoningTokens, u.completionTokens) },
      total_tokens: u.promptTokens + u.completionTokens,
    };
    this.status = this.incomplete ? 'incomplete' : 'completed';
    if (!this.incomplete) this.completedAt = this.o.now();
    out.push(this.ev(this.incomplete ? 'response.incomplete' : 'response.completed', { response: this.response() }));
    return out;
  }

  /** An error after the stream began: OpenAI's `error` event, then response.failed. */
  fail(info: ErrorInfo): StreamEvent[] {
    const body = openaiError(info).error;
    this.status = 'failed';
    this.error = { code: info.status >= 500 ? 'server_error' : 'invalid_prompt', message: info.message };
    return [
      this.ev('error', { code: body.code, message: body.message, param: body.param }),
      this.ev('response.failed', { response: this.response() }),
    ];
  }
}

/** GET /v1/responses/{id}/input_items: a page of items, newest first unless `order` is "asc". */
export interface ItemList {
  object: 'list';
  data: ResponseItem[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export function itemList(items: readonly ResponseItem[], q: { order: 'asc' | 'desc'; limit: number; after?: string }): ItemList {
  const ordered = q.order === 'asc' ? [...items] : [...items].reverse();
  const from = q.after === undefined ? 0 : ordered.findIndex((i) => i.id === q.after) + 1;
  const page = from === 0 && q.after !== undefined ? [] : ordered.slice(from, from + q.limit);
  return {
    object: 'list', data: page, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null,
    has_more: from + page.length < ordered.length,
  };
}
