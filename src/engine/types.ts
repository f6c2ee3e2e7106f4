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
  /** An mmproj GGUF (a `clip` vision encoder and projector) to load beside the model: it then reads images. */
  mmproj?: string;
}

/**
 * An image of a prompt: its encoder input (normalised pixels [3, S, S], from engine/vision/preprocess.ts) and where
 * its rows go. The prompt holds placeholder ids at positions pos .. pos + the encoder's rows − 1 (derived from a hash
 * of the pixels, so that prefix reuse tells images apart); those positions take the image's rows instead.
 */
export interface PromptImage {
  pos: number;
  pixels: Float32Array;
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
  /** Images in the prompt, in order (a model loaded with an mmproj only). */
  images?: PromptImage[];
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
