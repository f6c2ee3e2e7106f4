// Engine-level types: load-time options apart from request-time options, and the events generation yields.

import type { SamplingOptions, TokenLogprob } from './sampler/index.ts';

export type BackendName = 'ref' | 'cpu' | 'webgpu';

/** Chosen when a model is loaded. */
export interface LoadOptions {
  /** Context window in tokens (default: the model's training context, capped at 4096). */
  nCtx?: number;
  /** Most tokens run through one forward pass during prefill (default 512). */
  nBatch?: number;
  backend?: BackendName;
  threads?: number;
  /** A tokenizer.json (or another GGUF) whose vocabulary replaces the model's own. */
  tokenizerPath?: string;
  /** Keep the KV cache at f16 precision as llama.cpp does (default true). */
  kvF16?: boolean;
}

/** Chosen per request. */
export interface GenerateRequest {
  /** Prompt token ids, BOS included when wanted. */
  prompt: number[];
  /** Most tokens to generate (default: until end of generation or the context is full; 0 = evaluate the prompt only). */
  maxTokens?: number;
  sampling?: SamplingOptions;
  /** Generation stops before any of these strings; the stop string itself is not emitted. */
  stop?: string[];
  /** Stop at end-of-generation tokens (default true). */
  stopAtEog?: boolean;
  /** Log-probabilities with this many alternatives per generated token; undefined = none. */
  logprobs?: number;
  /** Context window for this request (default and maximum: the model's). */
  nCtx?: number;
}

export type FinishReason = 'stop' | 'length' | 'eog';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens whose K/V were already in the context (prefix reuse). */
  cachedTokens: number;
}

export interface Timings {
  /** Milliseconds waiting for a slot, spent on the prompt, and on generating tokens. */
  queueMs: number;
  promptMs: number;
  generateMs: number;
}

/** What generating one sequence yields, in order: tokens (and held-back text), then exactly one 'done'. */
export type GenerateEvent =
  /** `text` is the output now safe to show (empty while it could still begin a stop string or a UTF-8 character). */
  | { type: 'token'; id: number; text: string; logprob?: TokenLogprob }
  /** Text held back while it could have begun a stop string or a UTF-8 character, released at the end. */
  | { type: 'text'; text: string }
  /** `stopSequence` is the stop string that ended generation, when one did. */
  | { type: 'done'; reason: FinishReason; stopSequence: string | null; usage: Usage; timings: Timings };
