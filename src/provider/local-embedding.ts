// Embeddings for a list of inputs, one event-loop turn per input so generation steps interleave with them.

import { HearthError } from '../util/errors.ts';
import { embed } from '../engine/embed.ts';
import type { LoadedModel } from '../model/load.ts';

export async function embedTokens(model: LoadedModel, inputs: number[][], opts: { truncate: boolean; signal?: AbortSignal }):
  Promise<{ vectors: Float32Array[]; tokens: number }> {
  const vectors: Float32Array[] = [];
  let tokens = 0;
  for (let i = 0; i < inputs.length; i++) {
    let ids = inputs[i];
    if (ids.length > model.nCtx) {
      if (!opts.truncate) {
        throw new HearthError('context_length_exceeded',
          `input ${inputs.length > 1 ? `${i} ` : ''}is ${ids.length} tokens; the context holds ${model.nCtx}`);
      }
      ids = ids.slice(0, model.nCtx);
    }
    await new Promise<void>((r) => setImmediate(r));
    opts.signal?.throwIfAborted();
    vectors.push(embed(model, ids));
    tokens += ids.length;
  }
  return { vectors, tokens };
}
