// Shorter embeddings (OpenAI's and Ollama's `dimensions`): the first `dimensions` components, L2-normalised
// again, as Matryoshka-trained models are meant to be cut (and as OpenAI's text-embedding-3 models answer).

import { FieldError } from './validate.ts';

/** FieldError unless 1 <= dimensions <= width (the model's embedding width). */
export function checkDimensions(dimensions: number | undefined, width: number | undefined): void {
  if (dimensions === undefined || width === undefined) return;
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > width) {
    throw new FieldError('dimensions', `dimensions must be an integer from 1 to ${width} (this model's embedding width); got ${dimensions}`);
  }
}

/** The first `dimensions` components of v, scaled to unit length (a zero vector stays zero). */
export function shortenEmbedding(v: Float32Array, dimensions: number): Float32Array {
  const out = v.slice(0, dimensions);
  let sum = 0;
  for (const x of out) sum += x * x;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < out.length; i++) out[i] /= norm;
  return out;
}

/** Every vector shortened to `dimensions` (unchanged when undefined); checked against the vectors' width. */
export function shortenEmbeddings(vectors: readonly Float32Array[], dimensions: number | undefined): Float32Array[] {
  if (dimensions === undefined) return [...vectors];
  for (const v of vectors) checkDimensions(dimensions, v.length);
  return vectors.map((v) => shortenEmbedding(v, dimensions));
}
