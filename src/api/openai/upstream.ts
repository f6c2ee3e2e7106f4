// The gateway's OpenAI client side: a native request as the body of an upstream POST /chat/completions (always
// streamed, with usage), and the upstream's SSE chunks read back into pieces. `extensions` (openai-compatible servers,
// LM Studio, another hearth) also carries llama-server's sampling fields (top_k, min_p, repeat_penalty, …), which the
// OpenAI API itself refuses.

import type { ChatMessage } from '../../chat/template.ts';
import type { NativeRequest } from '../native.ts';
import type { SamplingOptions } from '../../engine/sampler/index.ts';
import { contentParts, imageMediaType } from '../images.ts';
import { withCallIds, chatPrompt, checkCommon, lacks, onlySampling, setSampling, type UpstreamPiece, type UpstreamTarget } from '../upstream.ts';

const BASE: (keyof SamplingOptions)[] = ['temperature', 'topP', 'seed', 'presencePenalty', 'frequencyPenalty'];
const EXTENDED: (keyof SamplingOptions)[] = [...BASE, 'topK', 'minP', 'typicalP', 'repeatPenalty', 'repeatLastN'];
const WIRE: Partial<Record<keyof SamplingOptions, string>> = {
  temperature: 'temperature', topP: 'top_p', seed: 'seed', presencePenalty: 'presence_penalty', frequencyPenalty: 'frequency_penalty',
  topK: 'top_k', minP: 'min_p', typicalP: 'typical_p', repeatPenalty: 'repeat_penalty', repeatLastN: 'repeat_last_n',
};

const args = (a: string | Record<string, unknown>): string => (typeof a === 'string' ? a : JSON.stringify(a));

export function openaiMessages(messages: ChatMessage[]): Record<string, unknown>[] {
  return messages.map((m) => {
    const out: Record<string, unknown> = { role: m.role, content: m.content };
    // images as image_url parts at their places: the bytes as a data URL, a URL as it came
    if (m.images?.length) {
      out.content = contentParts(m.content, m.images).map((p) => ('text' in p ? { type: 'text', text: p.text } : {
        type: 'image_url',
        image_url: { url: p.image.url ?? `data:${imageMediaType(p.image.data!)};base64,${Buffer.from(p.image.data!).toString('base64')}` },
      }));
    }
    if (m.name !== undefined) out.name = m.name;
    if (m.toolCalls?.length) {
      out.tool_calls = m.toolCalls.map((c, i) => ({ id: c.id ?? `call_${i}`, type: 'function', function: { name: c.function.name, arguments: args(c.function.arguments) } }));
      if (!m.content) out.content = null;
    }
    if (m.toolCallId !== undefined) out.tool_call_id = m.toolCallId;
    if (m.reasoningContent !== undefined) out.reasoning_content = m.reasoningContent;
    return out;
  });
}

export interface OpenAIUpstreamOptions {
  /** Send llama-server's sampling extensions (openai-compatible, lmstudio); the OpenAI API refuses them. */
  extensions: boolean;
}

/** The upstream request body; what the upstream cannot carry is a 400 naming it. */
export function openaiUpstreamBody(req: NativeRequest, model: string, t: UpstreamTarget, o: OpenAIUpstreamOptions): Record<string, unknown> {
  const p = chatPrompt(req, t);
  checkCommon(req, t);
  if (req.numCtx !== undefined) throw lacks(t, 'num_ctx', 'per-request context size');
  onlySampling(req.sampling, o.extensions ? EXTENDED : BASE, t);
  const body: Record<string, unknown> = { model, messages: openaiMessages(withCallIds(p.messages)), stream: true, stream_options: { include_usage: true } };
  for (const [k, v] of Object.entries(setSampling(req.sampling))) {
    const wire = WIRE[k as keyof SamplingOptions];
    if (wire) body[wire] = v;
  }
  if (req.maxTokens !== undefined) body[o.extensions ? 'max_tokens' : 'max_completion_tokens'] = req.maxTokens;
  if (req.stop.length) body.stop = req.stop;
  if (p.tools?.length) {
    body.tools = p.tools.map((x) => ({ type: 'function', function: { name: x.name, ...(x.description !== undefined ? { description: x.description } : {}), parameters: x.parameters } }));
    if (p.toolChoice !== undefined) body.tool_choice = typeof p.toolChoice === 'string' ? p.toolChoice : { type: 'function', function: { name: p.toolChoice.name } };
    if (p.parallelToolCalls === false) body.parallel_tool_calls = false;
  }
  if (p.templateVars && o.extensions) body.chat_template_kwargs = p.templateVars;
  if (req.format?.type === 'json_object') body.response_format = { type: 'json_object' };
  else if (req.format?.type === 'json_schema') body.response_format = { type: 'json_schema', json_schema: { name: req.format.name ?? 'output', schema: req.format.schema } };
  return body;
}

const REASON: Record<string, 'stop' | 'length' | 'tool_calls'> = { stop: 'stop', length: 'length', tool_calls: 'tool_calls', function_call: 'tool_calls', content_filter: 'stop' };

/** Reads the upstream's chat.completion.chunk events (the data of each SSE event) into pieces. */
export class OpenAIUpstreamDecoder {
  /** Upstream tool call index -> our call number. */
  private readonly calls = new Map<number, number>();
  done = false;

  /** One SSE event's data; `[DONE]` ends the stream. */
  push(data: string): UpstreamPiece[] {
    if (data === '[DONE]') {
      this.done = true;
      return [];
    }
    const chunk = JSON.parse(data) as {
      error?: { message?: string; code?: unknown };
      choices?: { index?: number; delta?: { content?: string | null; reasoning_content?: string | null; reasoning?: string | null;
        tool_calls?: { index?: number; id?: string; function?: { name?: string; arguments?: string } }[] }; finish_reason?: string | null }[];
      usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } } | null;
    };
    if (chunk.error) return [{ type: 'error', message: chunk.error.message ?? 'the upstream reported an error' }];
    const out: UpstreamPiece[] = [];
    for (const c of chunk.choices ?? []) {
      if ((c.index ?? 0) !== 0) continue;
      const d = c.delta ?? {};
      const thought = d.reasoning_content ?? d.reasoning;
      if (thought) out.push({ type: 'reasoning', text: thought });
      if (d.content) out.push({ type: 'text', text: d.content });
      for (const tc of d.tool_calls ?? []) {
        const key = tc.index ?? 0;
        let call = this.calls.get(key);
        if (call === undefined) {
          call = this.calls.size;
          this.calls.set(key, call);
          out.push({ type: 'call_start', call, ...(tc.id ? { id: tc.id } : {}), name: tc.function?.name ?? '' });
        }
        if (tc.function?.arguments) out.push({ type: 'call_args', call, text: tc.function.arguments });
      }
      if (c.finish_reason) out.push({ type: 'finish', reason: REASON[c.finish_reason] ?? 'stop' });
    }
    const u = chunk.usage;
    if (u) out.push({ type: 'usage', promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens, cachedTokens: u.prompt_tokens_details?.cached_tokens });
    return out;
  }
}

/** The ids of the models an upstream GET /models lists. */
export function openaiModelIds(body: unknown): string[] {
  const data = (body as { data?: { id?: unknown }[] } | null)?.data;
  return Array.isArray(data) ? data.flatMap((m) => (typeof m?.id === 'string' ? [m.id] : [])) : [];
}
