// Shared by the cpu backend's tests and benchmarks: deterministic random data and error measures.

import { rowBytes } from '../../gguf/ggml-types.ts';
import { quantizeTensor } from '../../quant/index.ts';

/** Deterministic pseudo-random floats in [-1, 1) (an LCG, so runs are repeatable). */
export function randomFloats(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

/**
 * A packed [rows, cols] weight of `type`: `distinct` rows quantized from random floats (quantizing is slow
 * for K-quants), repeated to fill `rows`; a prime period keeps neighbouring rows different.
 */
export function randomWeight(type: number, cols: number, rows: number, seed: number, distinct = 61): Uint8Array {
  const n = Math.min(rows, distinct);
  const base = quantizeTensor(type, randomFloats(cols * n, seed), cols);
  const rb = rowBytes(type, cols);
  const out = new Uint8Array(rb * rows);
  for (let r = 0; r < rows; r++) out.set(base.subarray((r % n) * rb, (r % n + 1) * rb), r * rb);
  return out;
}

/** Normalised mean squared error: sum (a - b)^2 / sum b^2. */
export function nmse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return den === 0 ? num : num / den;
}
