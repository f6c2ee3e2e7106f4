// Q4_K: 256 elements in 8 groups of 32; x ≈ d * sc * q - dmin * m with 4-bit q and 6-bit sc, m per group.
// block_q4_K (144 bytes): f16 d, f16 dmin, u8 scales[12] (see getScaleMinK4), u8 qs[128].
// qs byte 32*h + l holds element 64*h + l in its low nibble and 64*h + 32 + l in its high nibble.
// Port of ggml's quantize_row_q4_K_ref / dequantize_row_q4_K.

import { GGMLType } from '../../gguf/ggml-types.ts';
import { registerQuant } from '../traits.ts';
import { readHalf } from './half-bytes.ts';
import { QK_K, ScaleMinScratch, getScaleMinK4, quantizeScaleMinLevels, superBlocks } from './k-quant-search.ts';

const BLOCK_BYTES = 144;
const D = 0;
const DMIN = 2;
const SCALES = 4;
const QS = 16;
const f = Math.fround;

export function quantizeRowQ4K(src: Float32Array, dst: Uint8Array, n: number): void {
  const nb = superBlocks('Q4_K', n, BLOCK_BYTES, dst.length, src.length);
  const L = new Uint8Array(QK_K);
  const scratch = new ScaleMinScratch();

  for (let i = 0; i < nb; i++) {
    const x = src.subarray(i * QK_K, (i + 1) * QK_K);
    const o = i * BLOCK_BYTES;
    quantizeScaleMinLevels(x, dst, o, 15, -1, 20, L, scratch);

    for (let j = 0; j < QK_K; j += 64) {
      const q = o + QS + j / 2;
      for (let l = 0; l < 32; l++) dst[q + l] = L[j + l] | (L[j + l + 32] << 4);
    }
  }
}

export function dequantizeRowQ4K(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = superBlocks('Q4_K', n, BLOCK_BYTES, src.length, dst.length);
  const sm = new Uint8Array(2);
  let y = 0;
  for (let i = 0; i < nb; i++) {
    const o = i * BLOCK_BYTES;
    const d = readHalf(src, o + D);
    const min = readHalf(src, o + DMIN);
    for (let j = 0; j < 4; j++) {
      const q = o + QS + 32 * j;
      getScaleMinK4(2 * j, src, o + SCALES, sm);
      const d1 = f(d * sm[0]);
      const m1 = f(min * sm[1]);
      getScaleMinK4(2 * j + 1, src, o + SCALES, sm);
      const d2 = f(d * sm[0]);
      const m2 = f(min * sm[1]);
      for (let l = 0; l < 32; l++) dst[y++] = f(d1 * (src[q + l] & 0xf)) - m1;
      for (let l = 0; l < 32; l++) dst[y++] = f(d2 * (src[q + l] >> 4)) - m2;
    }
  }
}

registerQuant({ id: GGMLType.Q4_K, vecDotType: GGMLType.Q8_K, quantize: quantizeRowQ4K, dequantize: dequantizeRowQ4K });
