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

/**
 * The placeholder ids an image's positions hold in a prompt: n ids in 0..nVocab-1 drawn from a hash of its pixels, so
 * that two prompts share a cached prefix through an image only when it is the same image.
 */
export function imagePlaceholders(pixels: Float32Array, n: number, nVocab: number): number[] {
  const bytes = new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  const ids: number[] = [];
  let s = h || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    ids.push(s % nVocab);
  }
  return ids;
}
