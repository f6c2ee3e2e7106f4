// Embeddings from a decoder model, as llama-server computes them: the final normed hidden states of every
// prompt token, mean-pooled, then L2-normalised. Uses a scratch context; the caller's contexts are untouched.

import { HearthError } from '../util/errors.ts';
import type { LoadedModel } from '../model/load.ts';

export function embed(model: LoadedModel, tokens: readonly number[]): Float32Array {
  if (tokens.length === 0) throw new HearthError('invalid_argument', 'cannot embed an empty input');
  if (tokens.length > model.nCtx) {
    throw new HearthError('context_length_exceeded', `the input is ${tokens.length} tokens; the context holds ${model.nCtx}`);
  }
  const { hp } = model;
  const cache = model.createCache(tokens.length);
  const nBatch = model.options.nBatch ?? 512;
  const sum = new Float64Array(hp.nEmbd);
  try {
    for (let i = 0; i < tokens.length; i += nBatch) {
      const chunk = tokens.slice(i, i + nBatch);
      const h = model.forward.forwardBatch([{ tokens: chunk, pos0: i, cache }], true, true);
      for (let t = 0; t < chunk.length; t++) for (let d = 0; d < hp.nEmbd; d++) sum[d] += h[t * hp.nEmbd + d];
    }
  } finally {
    cache.dispose();
  }
  let norm = 0;
  for (let d = 0; d < hp.nEmbd; d++) norm += sum[d] * sum[d];
  norm = Math.sqrt(norm) || 1;
  return Float32Array.from(sum, (v) => v / norm);
}
