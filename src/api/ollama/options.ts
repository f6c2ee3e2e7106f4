// Ollama's `options` object and the request fields every generating endpoint shares (keep_alive, format, think).

import { IMAGE_MARKER, imageFromBase64 } from '../images.ts';
import type { ImageInput } from '../../chat/media.ts';
import type { SamplingOptions } from '../../engine/sampler/index.ts';
import { describe, Fields, FieldError, unsupported } from '../validate.ts';
import { readLlamaSamplerFields } from '../llama-sampler-fields.ts';
import { MAX_DURATION_MS, parseGoDuration } from './go-duration.ts';

export interface OllamaOptions {
  sampling: SamplingOptions;
  /** undefined = until end of generation or the context is full. */
  maxTokens: number | undefined;
  stop: string[];
  numCtx: number | undefined;
}

/** Load-time options of Ollama's runner: they cannot change what this server generates, so they are accepted. */
const NO_EFFECT = ['num_batch', 'num_gpu', 'main_gpu', 'low_vram', 'f16_kv', 'logits_all', 'vocab_only', 'use_mmap',
  'use_mlock', 'num_thread', 'numa', 'embedding_only', 'num_keep', 'penalize_newline'];

export function readOllamaOptions(v: Fields | undefined): OllamaOptions {
  if (!v) return { sampling: {}, maxTokens: undefined, stop: [], numCtx: undefined };
  const num = (k: string, rule: Parameters<Fields['number']>[1] = {}) => v.number(k, rule);
  const predict = num('num_predict', { integer: true, min: -2 });
  const sampling: SamplingOptions = {
    temperature: num('temperature', { min: 0 }),
    topK: num('top_k', { integer: true, min: 0 }),
    topP: num('top_p', { min: 0, max: 1 }),
    minP: num('min_p', { min: 0, max: 1 }),
    repeatPenalty: num('repeat_penalty', { min: 0, minExclusive: true }),
    repeatLastN: num('repeat_last_n', { integer: true, min: -1 }),
    presencePenalty: num('presence_penalty'),
    frequencyPenalty: num('frequency_penalty'),
    seed: num('seed', { integer: true }),
    // mirostat, mirostat_tau, mirostat_eta, typical_p (Ollama's names too) and llama.cpp's XTC, DRY and samplers
    ...readLlamaSamplerFields(v),
  };
  // Ollama treats a negative seed as "random".
  if (sampling.seed !== undefined && sampling.seed < 0) sampling.seed = undefined;
  else if (sampling.seed !== undefined) sampling.seed = sampling.seed % 2 ** 32;
  const tfs = num('tfs_z', { min: 0 });
  if (tfs !== undefined && tfs !== 1) throw unsupported(v.name('tfs_z'), 'tail-free sampling is not implemented; use 1');
  for (const k of ['rope_frequency_base', 'rope_frequency_scale']) {
    if (v.has(k)) throw unsupported(v.name(k), 'RoPE settings are read from the model file');
  }
  for (const k of NO_EFFECT) v.raw(k);
  const stop = v.stringList('stop') ?? [];
  const numCtx = num('num_ctx', { integer: true, min: 1 });
  const opts = {
    sampling,
    maxTokens: predict === undefined || predict < 0 ? undefined : predict,
    stop: stop.filter((s) => s.length > 0),
    numCtx,
  };
  v.rejectUnknown();
  return opts;
}

/**
 * Sampling settings some clients send at the top level of /api/chat and /api/generate instead of in `options`:
 * the AI SDK's Ollama provider (ollama-ai-provider-v2) sends `temperature`, `top_p` and `max_output_tokens` to
 * /api/chat, and `temperature`, `top_p`, `max_tokens`, `frequency_penalty`, `presence_penalty` and `stop` to
 * /api/generate. Ollama itself reads none of them (they are dropped, and the model's defaults apply); here they are
 * honoured as the options they name, because that is what the client's user asked for. A value in `options`
 * wins over its top-level twin.
 */
export function withTopLevelOptions(f: Fields, o: OllamaOptions): OllamaOptions {
  const limit = f.number('max_output_tokens', { integer: true, min: 0 }) ?? f.number('max_tokens', { integer: true, min: 0 });
  const top: SamplingOptions = {
    temperature: f.number('temperature', { min: 0 }),
    topP: f.number('top_p', { min: 0, max: 1 }),
    frequencyPenalty: f.number('frequency_penalty'),
    presencePenalty: f.number('presence_penalty'),
  };
  const sampling = { ...o.sampling };
  for (const [k, v] of Object.entries(top) as [keyof SamplingOptions, unknown][]) {
    if (v !== undefined && sampling[k] === undefined) (sampling as Record<string, unknown>)[k] = v;
  }
  const stop = (f.stringList('stop') ?? []).filter((s) => s.length > 0);
  return {
    ...o,
    sampling,
    maxTokens: o.maxTokens ?? limit,
    stop: o.stop.length ? o.stop : stop,
  };
}

/**
 * keep_alive in milliseconds, as Ollama reads it: a number is seconds, a string a Go duration ("5m", "1h30m",
 * "300ms", "-1m") or a bare number of seconds ("0", "-1"); any negative value keeps the model loaded forever (-1),
 * 0 unloads it as soon as the request ends. Undefined when absent (the server's --keep-alive applies).
 */
export function readKeepAlive(f: Fields): number | undefined {
  const v = f.raw('keep_alive');
  if (v === undefined || v === null) return undefined;
  // describe(), not JSON.stringify: the value may be nested thousands deep
  const bad = () => new FieldError('keep_alive', `keep_alive must be a duration such as "5m" or "1h" (at most 292 years), or a number of seconds; got ${describe(v)}`);
  let ms: number;
  if (typeof v === 'number') {
    ms = v * 1000;
    if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DURATION_MS) throw bad();
  } else if (typeof v === 'string') {
    ms = parseDuration(v);
    if (Number.isNaN(ms)) throw bad();
  } else throw bad();
  return ms < 0 ? -1 : Math.round(ms);
}

/** A Go duration ("1h30m", "-5m", "250ms") or a bare number of seconds, in milliseconds; NaN when it is neither. */
export const parseDuration = parseGoDuration;

/**
 * Ollama's `think`: true or false becomes the chat template's enable_thinking (Qwen3's switch); the levels
 * ("high", "medium", "low") are gpt-oss's, which Hearth does not run.
 */
export function readThink(f: Fields): boolean | undefined {
  const think = f.raw('think');
  if (think === undefined || typeof think === 'boolean') return think;
  if (typeof think === 'string') throw unsupported('think', `thinking levels (${JSON.stringify(think)}) are not implemented; send true or false`);
  throw new FieldError('think', 'think must be true or false');
}

/** tools (outside /api/chat) are refused by name (format is readOllamaFormat's). */
export function rejectUnsupported(f: Fields, opts: { tools?: boolean } = {}): void {
  const tools = opts.tools ? undefined : f.array('tools');
  if (tools && tools.length > 0) throw unsupported('tools', 'tools are for /api/chat; /api/generate calls none');
}

/** `images: [base64, ...]` of a generate request or a chat message. */
export function readOllamaImages(f: Fields): ImageInput[] {
  const list = f.array('images') ?? [];
  return list.map((v, i) => {
    const field = `${f.name('images')}[${i}]`;
    if (typeof v !== 'string') throw new FieldError(field, `${field} must be a base64 string`);
    return imageFromBase64(field, v);
  });
}

/** The text with one image marker (and a line break) per image in front, as Ollama puts images before the prompt. */
export function withImageMarkers(text: string, images: readonly ImageInput[]): string {
  return images.map(() => `${IMAGE_MARKER}\n`).join('') + text;
}

export function readLogprobs(f: Fields): number | undefined {
  const on = f.boolean('logprobs') ?? false;
  const top = f.number('top_logprobs', { integer: true, min: 0, max: 20 });
  if (top !== undefined && top > 0 && !on) throw new FieldError('top_logprobs', 'top_logprobs requires logprobs to be true');
  return on ? (top ?? 0) : undefined;
}
