// A prompt of text and images for the language model: chunks of token ids and of embedding rows, evaluated in order
// into one KV cache (the rows of an image enter the first layer in place of token-embedding rows, at the positions
// that follow the text before them), as mtmd_helper_eval_chunks does.

import type { DecoderForward, KVCache } from '../../model/types.ts';
import { HearthError } from '../../util/errors.ts';

export type PromptChunk =
  | { readonly kind: 'tokens'; readonly tokens: readonly number[] }
  | { readonly kind: 'image'; readonly rows: Float32Array; readonly nTokens: number };

/** Positions a prompt takes. */
export function promptLength(chunks: readonly PromptChunk[]): number {
  return chunks.reduce((n, c) => n + (c.kind === 'tokens' ? c.tokens.length : c.nTokens), 0);
}

/**
 * Evaluates every chunk from position pos0 (text in batches of nBatch tokens, each image in one pass: its rows
 * attend to each other causally, as llama.cpp decodes an image's embeddings) and returns the logits after the last.
 */
export async function evalChunks(forward: DecoderForward, cache: KVCache, chunks: readonly PromptChunk[], pos0 = 0,
  nBatch = 512): Promise<Float32Array> {
  let pos = pos0;
  let logits: Float32Array | undefined;
  for (const c of chunks) {
    if (c.kind === 'tokens') {
      for (let i = 0; i < c.tokens.length; i += nBatch) {
        const part = c.tokens.slice(i, i + nBatch);
        logits = await forward.forwardBatchAsync([{ tokens: part, pos0: pos, cache }]);
        pos += part.length;
      }
    } else {
      if (c.rows.length !== c.nTokens * forward.model.dims.nEmbd) {
        throw new HearthError('invalid_argument', `an image of ${c.nTokens} rows has ${c.rows.length} values, not rows of ${forward.model.dims.nEmbd}`);
      }
      logits = await forward.forwardBatchAsync([{ embeddings: c.rows, pos0: pos, cache }]);
      pos += c.nTokens;
    }
  }
  if (!logits) throw new HearthError('invalid_argument', 'the prompt is empty');
  return logits;
}
