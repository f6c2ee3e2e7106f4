// Embeddings from a decoder model, as llama-server computes them: the final normed hidden states of every
// prompt token, mean-pooled, then L2-normalised. Each input runs on its own scratch KV cache; the callers'
// contexts are untouched. EmbeddingJob goes chunk by chunk (the scheduler runs one chunk per step);
// embed() runs one input to the end.

import { HearthError } from '../util/errors.ts';
import type { KVCache } from '../model/types.ts';
import type { LoadedModel } from './load.ts';

export class EmbeddingJob {
  readonly model: LoadedModel;
  readonly tokens: readonly number[];
  private readonly cache: KVCache;
  private readonly sum: Float64Array;
  private done = 0;

  /** Checks the input against the model (throws before anything runs). */
  constructor(model: LoadedModel, tokens: readonly number[]) {
    if (tokens.length === 0) throw new HearthError('invalid_argument', 'cannot embed an empty input');
    if (tokens.length > model.nCtx) {
      throw new HearthError('context_length_exceeded', `the input is ${tokens.length} tokens; the context holds ${model.nCtx}`);
    }
    const { hp } = model;
    for (const id of tokens) {
      if (!Number.isInteger(id) || id < 0 || id >= hp.nVocab) {
        throw new HearthError('invalid_argument', `token id ${id} is outside the vocabulary (0..${hp.nVocab - 1})`);
      }
    }
    this.model = model;
    this.tokens = tokens;
    this.cache = model.createCache(tokens.length);
    this.sum = new Float64Array(hp.nEmbd);
  }

  get finished(): boolean {
    return this.done === this.tokens.length;
  }

  /** Runs the next (at most) n tokens through the model; returns how many ran. */
  next(n: number): number {
    const nEmbd = this.model.hp.nEmbd;
    const chunk = this.tokens.slice(this.done, this.done + Math.max(1, n));
    if (chunk.length === 0) return 0;
    const h = this.model.forward.forwardBatch([{ tokens: chunk, pos0: this.done, cache: this.cache }], true, true);
    const sum = this.sum;
    for (let t = 0; t < chunk.length; t++) for (let d = 0; d < nEmbd; d++) sum[d] += h[t * nEmbd + d];
    this.done += chunk.length;
    return chunk.length;
  }

  /** The L2-normalised mean of the hidden states (call once finished). */
  result(): Float32Array {
    if (!this.finished) throw new HearthError('internal', 'embedding read before its last chunk ran');
    let norm = 0;
    for (const v of this.sum) norm += v * v;
    norm = Math.sqrt(norm) || 1;
    return Float32Array.from(this.sum, (v) => v / norm);
  }

  /** Frees the scratch cache now (idempotent; the job cannot run afterwards). */
  dispose(): void {
    this.cache.dispose();
  }
}

export function embed(model: LoadedModel, tokens: readonly number[]): Float32Array {
  const job = new EmbeddingJob(model, tokens);
  const nBatch = model.options.nBatch ?? 512;
  try {
    while (!job.finished) job.next(nBatch);
    return job.result();
  } finally {
    job.dispose();
  }
}
