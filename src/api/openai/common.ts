// Fields shared by OpenAI's chat and completions requests, and the pieces of their responses.

import type { SamplingOptions } from '../../engine/sampler/index.ts';
import type { ChoiceResult } from '../native.ts';
import { FieldError, unsupported, type Fields } from '../validate.ts';
import { readLlamaGrammar, readResponseFormat } from '../structured-output.ts';

/** Identity and time of one response, chosen by the server (converters stay pure). */
export interface ResponseMeta {
  id: string;
  /** Unix seconds. */
  created: number;
  model: string;
  systemFingerprint: string;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
}

/** Fields OpenAI accepts that change nothing here. */
export const IGNORED_FIELDS = ['user', 'store', 'metadata', 'service_tier', 'parallel_tool_calls', 'prompt_cache_key', 'safety_identifier'] as const;

export function markIgnored(f: Fields): void {
  for (const k of IGNORED_FIELDS) f.raw(k);
  const user = f.raw('user');
  if (user !== undefined && typeof user !== 'string') throw new FieldError('user', 'user must be a string');
}

/**
 * llama-server's own request fields that its clients send to the OpenAI endpoints: `n_predict` (a length limit,
 * used when the request has no OpenAI one; -1: none), `cache_prompt` and `id_slot`, which only steer llama-server's
 * prompt cache and slot choice (this server reuses cached prefixes by itself, and picks slots itself). Its
 * sampler fields are readLlamaSamplerFields'.
 */
export function readLlamaServerFields(f: Fields): { nPredict?: number; nProbs?: number } {
  f.boolean('cache_prompt');
  f.number('id_slot', { integer: true, min: -1 });
  const n = f.number('n_predict', { integer: true, min: -1 });
  // llama-server's n_probs: each token's log-probability with this many alternatives, in OpenAI's logprobs shape.
  const probs = f.number('n_probs', { integer: true, min: 0, max: 20 });
  return { nPredict: n === undefined || n < 0 ? undefined : n, ...(probs ? { nProbs: probs } : {}) };
}

/** The length limit a request sent and the field it came from, the first of `keys` present (maxTokensParam). */
export function sentLimit(limits: [key: string, value: number | undefined][]): { maxTokens?: number; maxTokensParam?: string } {
  const hit = limits.find(([, v]) => v !== undefined);
  return hit ? { maxTokens: hit[1], maxTokensParam: hit[0] } : {};
}

/** Sampling fields (OpenAI's plus llama-server's top_k, min_p, repeat_penalty, repeat_last_n; its other extras are readLlamaSamplerFields'). */
export function readSampling(f: Fields): SamplingOptions {
  const sampling: SamplingOptions = {
    temperature: f.number('temperature', { min: 0, max: 2 }),
    topP: f.number('top_p', { min: 0, max: 1 }),
    presencePenalty: f.number('presence_penalty', { min: -2, max: 2 }),
    frequencyPenalty: f.number('frequency_penalty', { min: -2, max: 2 }),
    seed: f.number('seed', { integer: true, min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    topK: f.number('top_k', { integer: true, min: 0 }),
    minP: f.number('min_p', { min: 0, max: 1 }),
    repeatPenalty: f.number('repeat_penalty', { min: 0, minExclusive: true }),
    repeatLastN: f.number('repeat_last_n', { integer: true, min: -1 }),
  };
  const bias = f.object('logit_bias');
  if (bias) {
    const pairs: [number, number][] = [];
    for (const k of Object.keys(bias.obj)) {
      if (!/^\d+$/.test(k)) throw new FieldError(`logit_bias.${k}`, `logit_bias keys must be token ids; got ${JSON.stringify(k)}`);
      const b = bias.number(k, { min: -100, max: 100 });
      if (b !== undefined) pairs.push([Number(k), b]);
    }
    if (pairs.length) sampling.logitBias = pairs;
  }
  // OpenAI's seed is any 64-bit integer; the sampler takes it modulo 2^32.
  if (sampling.seed !== undefined) sampling.seed = ((sampling.seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
  const fromFormat = readResponseFormat(f);
  const fromLlama = readLlamaGrammar(f);
  if (fromFormat !== undefined && fromLlama !== undefined) {
    throw new FieldError('response_format', 'response_format and grammar / json_schema each constrain the output: send one');
  }
  const grammar = fromFormat ?? fromLlama;
  if (grammar !== undefined) sampling.grammar = grammar;
  return sampling;
}

export function readStop(f: Fields): string[] {
  return (f.stringList('stop', 4) ?? []).filter((s) => s.length > 0);
}

export function readStreamOptions(f: Fields, stream: boolean): { includeUsage: boolean } {
  const so = f.object('stream_options');
  if (!so) return { includeUsage: false };
  if (!stream) throw new FieldError('stream_options', 'stream_options is only allowed when stream is true');
  const includeUsage = so.boolean('include_usage') ?? false;
  so.boolean('include_obfuscation');
  so.rejectUnknown();
  return { includeUsage };
}

/** n choices per prompt (best_of only as an alias of n). */
export function readN(f: Fields): number {
  return f.number('n', { integer: true, min: 1, max: 16 }) ?? 1;
}

/** The deprecated functions / function_call fields are refused by name (tools replace them). */
export function rejectFunctions(f: Fields): void {
  if (f.has('functions')) throw unsupported('functions', 'the deprecated functions field is not implemented; send tools');
  if (f.has('function_call')) throw unsupported('function_call', 'the deprecated function_call field is not implemented; send tool_choice');
}

/** Completions' finish reason ('tool_calls' cannot happen there: it has no tools). */
export function finishReason(r: ChoiceResult): 'stop' | 'length' {
  return r.reason === 'length' ? 'length' : 'stop';
}

/** Prompt tokens count once per prompt however many choices it has; completions add up. */
export function usageOf(results: readonly ChoiceResult[]): Usage {
  const prompts = new Map<number, ChoiceResult>();
  for (const r of results) if (!prompts.has(r.promptIndex)) prompts.set(r.promptIndex, r);
  const promptTokens = [...prompts.values()].reduce((s, r) => s + r.usage.promptTokens, 0);
  const cached = [...prompts.values()].reduce((s, r) => s + r.usage.cachedTokens, 0);
  const completion = results.reduce((s, r) => s + r.usage.completionTokens, 0);
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completion,
    total_tokens: promptTokens + completion,
    prompt_tokens_details: { cached_tokens: cached },
  };
}

export function utf8Bytes(s: string): number[] {
  return [...new TextEncoder().encode(s)];
}
