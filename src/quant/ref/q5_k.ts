// Q5_K: 256 elements in 8 groups of 32; x ≈ d * sc * q - dmin * m with 5-bit q and 6-bit sc, m per group.
// block_q5_K (176 bytes): f16 d, f16 dmin, u8 scales[12] (as Q4_K), u8 qh[32], u8 qs[128].
// The low 4 bits are packed as in Q4_K; the 5th bit of element e is bit (e / 32) of qh[e % 32].
// Port of ggml's quantize_row_q5_K_ref / dequantize_row_q5_K.

import { GGMLType } from '../../gguf/ggml-types.ts';
import { registerQuant } from '../traits.ts';
import { readHalf } from './half-bytes.ts';
import { QK_K, ScaleMinScratch, getScaleMinK4, quantizeScaleMinLevels, superBlocks } from './k-quant-search.ts';

const BLOCK_BYTES = 176;
const D = 0;
const DMIN = 2;
const SCALES = 4;
const QH = 16;
const QS = 48;
const f = Math.fround;

export function quantizeRowQ5K(src: Float32Array, dst: Uint8Array, n: number): void {
  const nb = superBlocks('Q5_K', n, BLOCK_BYTES, dst.length, src.length);
  const L = new Uint8Array(QK_K);
  const scratch = new ScaleMinScratch();

  for (let i = 0; i < nb; i++) {
    const x = src.subarray(i * QK_K, (i + 1) * QK_K);
    const o = i * BLOCK_BYTES;
    quantizeScaleMinLevels(x, dst, o, 31, -0.5, 15, L, scratch);

    dst.fill(0, o + QH, o + QH + 32);
    for (let j = 0; j < QK_K; j += 64) {
      const q = o + QS + j / 2;
      const bit = j / 32; // the pair of qh bits for this 64: low nibbles use `bit`, high nibbles `bit + 1`
      for (let l = 0; l < 32; l++) {
        const l1 = L[j + l];
        const l2 = L[j + l + 32];
        dst[o + QH + l] |= ((l1 >> 4) << bit) | ((l2 >> 4) << (bit + 1));
        dst[q + l] = (l1 & 0xf) | ((l2 & 0xf) << 4);
      }
    }
  }
}

export function dequantizeRowQ5K(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = superBlocks('Q5_K', n, BLOCK_BYTES, src.length, dst.length);
  const sm = new Uint8Array(2);
  let y = 0;
  for (let i = 0; i < nb; i++) {
    const o = i * BLOCK_BYTES;
    const d = readHalf(src, o + D);
    const min = readHalf(src, o + DMIN);
    for (let j = 0; j < 4; j++) {
      const ql = o + QS + 32 * j;
      const u1 = 1 << (2 * j);
      const u2 = 2 << (2 * j);
      getScaleMinK4(2 * j, src, o + SCALES, sm);
      const d1 = f(d * sm[0]);
      const m1 = f(min * sm[1]);
      getScaleMinK4(2 * j + 1, src, o + SCALES, sm);
      const d2 = f(d * sm[0]);
      const m2 = f(min * sm[1]);
      for (let l = 0; l < 32; l++) dst[y++] = f(d1 * ((src[ql + l] & 0xf) + (src[o + QH + l] & u1 ? 16 : 0))) - m1;
      for (let l = 0; l < 32; l++) dst[y++] = f(d2 * ((src[ql + l] >> 4) + (src[o + QH + l] & u2 ? 16 : 0))) - m2;
    }
  }
}

registerQuant({ id: GGMLType.Q5_K, vecDotType: GGMLType.Q8_K, quantize: quantizeRowQ5K, dequantize: dequantizeRowQ5K });
