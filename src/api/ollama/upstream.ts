// The gateway's Ollama client side: a native request as the body of an upstream POST /api/chat (always streamed),
// and the upstream's NDJSON lines read back into pieces. Ollama's API has no tool choice: "auto" is what it does,
// "none" sends no tools, and a forced call is refused by name. Calls arrive whole, one line each.

import type { ChatMessage } from '../../chat/template.ts';
import type { NativeRequest } from '../native.ts';
import type { SamplingOptions } from '../../engine/sampler/index.ts';
import { IMAGE_MARKER } from '../images.ts';
import { chatPrompt, checkCommon, lacks, onlySampling, setSampling, type UpstreamPiece, type UpstreamTarget } from '../upstream.ts';

const OPTION: Partial<Record<keyof SamplingOptions, string>> = {
  temperature: 'temperature', topK: 'top_k', topP: 'top_p', minP: 'min_p', typicalP: 'typical_p', repeatPenalty: 'repeat_penalty',
  repeatLastN: 'repeat_last_n', presencePenalty: 'presence_penalty', frequencyPenalty: 'frequency_penalty', seed: 'seed',
  mirostat: 'mirostat', mirostatTau: 'mirostat_tau', mirostatEta: 'mirostat_eta',
};

function argumentsObject(a: string | Record<string, unknown>): Record<string, unknown> {
  if (typeof a !== 'string') return a;
  try {
    const v = JSON.parse(a || '{}') as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : {};
  } catch {
    return {};
  }
}

export function ollamaMessages(messages: ChatMessage[], t?: UpstreamTarget): Record<string, unknown>[] {
  return messages.map((m) => {
    const out: Record<string, unknown> = { role: m.role, content: m.content };
    // Ollama's images go beside the text, base64, without places (its server puts them before the text, as Hearth's does)
    if (m.images?.length) {
      if (t && m.images.some((i) => i.url !== undefined)) throw lacks(t, 'images', 'image URLs (Ollama takes the image bytes: send a data URL or base64)');
      out.content = m.content.replaceAll(`${IMAGE_MARKER}\n`, '').replaceAll(IMAGE_MARKER, '');
      out.images = m.images.map((i) => Buffer.from(i.data!).toString('base64'));
    }
    if (m.toolCalls?.length) out.tool_calls = m.toolCalls.map((c) => ({ function: { name: c.function.name, arguments: argumentsObject(c.function.arguments) } }));
    if (m.toolCallId !== undefined) out.tool_call_id = m.toolCallId;
    if (m.reasoningContent !== undefined) out.thinking = m.reasoningContent;
    return out;
  });
}

export function ollamaUpstreamBody(req: NativeRequest, model: string, t: UpstreamTarget): Record<string, unknown> {
  const p = chatPrompt(req, t);
  checkCommon(req, t);
  onlySampling(req.sampling, Object.keys(OPTION) as (keyof SamplingOptions)[], t);
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(setSampling(req.sampling))) {
    const wire = OPTION[k as keyof SamplingOptions];
    if (wire) options[wire] = v;
  }
  if (req.maxTokens !== undefined) options.num_predict = req.maxTokens;
  if (req.stop.length) options.stop = req.stop;
  if (req.numCtx !== undefined) options.num_ctx = req.numCtx;
  const body: Record<string, unknown> = { model, messages: ollamaMessages(p.messages, t), stream: true };
  if (Object.keys(options).length) body.options = options;
  if (p.tools?.length && p.toolChoice !== 'none') {
    if (p.toolChoice !== undefined && p.toolChoice !== 'auto') throw lacks(t, 'tool_choice', 'tool choice (Ollama\'s API only lets the model decide)');
    body.tools = p.tools.map((x) => ({ type: 'function', function: { name: x.name, ...(x.description !== undefined ? { description: x.description } : {}), parameters: x.parameters } }));
  }
  const think = p.templateVars?.enable_thinking;
  if (typeof think === 'boolean') body.think = think;
  if (req.format?.type === 'json_object') body.format = 'json';
  else if (req.format?.type === 'json_schema') body.format = req.format.schema;
  if (req.keepAliveMs !== undefined) body.keep_alive = req.keepAliveMs < 0 ? -1 : `${Math.round(req.keepAliveMs)}ms`;
  return body;
}

/** Reads the upstream's NDJSON lines into pieces. */
export class OllamaUpstreamDecoder {
  private calls = 0;
  done = false;

  push(line: string): UpstreamPiece[] {
    const o = JSON.parse(line) as {
      error?: string;
      message?: { content?: string; thinking?: string; tool_calls?: { id?: string; function?: { name?: string; arguments?: unknown } }[] };
      done?: boolean; done_reason?: string; prompt_eval_count?: number; eval_count?: number;
    };
    if (typeof o.error === 'string') return [{ type: 'error', message: o.error }];
    const out: UpstreamPiece[] = [];
    const m = o.message ?? {};
    if (m.thinking) out.push({ type: 'reasoning', text: m.thinking });
    if (m.content) out.push({ type: 'text', text: m.content });
    for (const c of m.tool_calls ?? []) {
      const call = this.calls++;
      out.push({ type: 'call_start', call, ...(c.id ? { id: c.id } : {}), name: c.function?.name ?? '' });
      out.push({ type: 'call_args', call, text: JSON.stringify(c.function?.arguments ?? {}) });
    }
    if (o.done) {
      this.done = true;
      out.push({ type: 'finish', reason: o.done_reason === 'length' ? 'length' : this.calls > 0 ? 'tool_calls' : 'stop' });
      if (o.prompt_eval_count !== undefined || o.eval_count !== undefined) {
        out.push({ type: 'usage', promptTokens: o.prompt_eval_count, completionTokens: o.eval_count });
      }
    }
    return out;
  }
}

/** The names of the models an upstream GET /api/tags lists. */
export function ollamaModelIds(body: unknown): string[] {
  const models = (body as { models?: { name?: unknown; model?: unknown }[] } | null)?.models;
  return Array.isArray(models) ? models.flatMap((m) => (typeof m?.name === 'string' ? [m.name] : typeof m?.model === 'string' ? [m.model] : [])) : [];
}
