// Q8_K: the activation format llama.cpp's CPU backend pairs with K-quant weights in its dot products.
// block_q8_K (292 bytes): f32 d, i8 qs[256], i16 bsums[16] (the sum of each 16 qs, so kernels can apply
// the weights' per-group mins without touching qs again). x ≈ d * q.
// Port of ggml's quantize_row_q8_K_ref / dequantize_row_q8_K.

import { GGMLType } from '../../gguf/ggml-types.ts';
import { registerQuant } from '../traits.ts';
import { QK_K, nearestInt, superBlocks } from './k-quant-search.ts';

const BLOCK_BYTES = 292;
const QS = 4;
const BSUMS = 260;
const f = Math.fround;

export function quantizeRowQ8K(src: Float32Array, dst: Uint8Array, n: number): void {
  const nb = superBlocks('Q8_K', n, BLOCK_BYTES, dst.length, src.length);
  const view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  const qs = new Int8Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < nb; i++) {
    const x = src.subarray(i * QK_K, (i + 1) * QK_K);
    const o = i * BLOCK_BYTES;
    let max = 0; // the value of largest magnitude, with its sign
    let amax = 0;
    for (let j = 0; j < QK_K; j++) {
      const ax = Math.abs(x[j]);
      if (ax > amax) {
        amax = ax;
        max = x[j];
      }
    }
    if (amax === 0) {
      // ggml leaves bsums untouched here; zeros keep our output deterministic.
      dst.fill(0, o, o + BLOCK_BYTES);
      continue;
    }
    // -127 (not -128) so that the largest value maps to ±127 and q never needs 8 bits plus sign.
    const iscale = f(-127 / max);
    for (let j = 0; j < QK_K; j++) qs[o + QS + j] = Math.min(127, nearestInt(f(iscale * x[j])));
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let ii = 0; ii < 16; ii++) sum += qs[o + QS + 16 * j + ii];
      view.setInt16(o + BSUMS + 2 * j, sum, true);
    }
    view.setFloat32(o, f(1 / iscale), true);
  }
}

export function dequantizeRowQ8K(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = superBlocks('Q8_K', n, BLOCK_BYTES, src.length, dst.length);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const qs = new Int8Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < nb; i++) {
    const o = i * BLOCK_BYTES;
    const d = view.getFloat32(o, true);
    for (let j = 0; j < QK_K; j++) dst[i * QK_K + j] = d * qs[o + QS + j];
  }
}

registerQuant({ id: GGMLType.Q8_K, vecDotType: GGMLType.Q8_K, quantize: quantizeRowQ8K, dequantize: dequantizeRowQ8K });
