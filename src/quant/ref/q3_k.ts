// Q3_K: 256 elements in 16 groups of 16; x ≈ d * (sc - 32) * (q - 4) with 3-bit q and 6-bit sc per group.
// block_q3_K (110 bytes): u8 hmask[32], u8 qs[64], u8 scales[12], f16 d.
// The low 2 bits of q are packed like Q2_K; the high bit of element e is bit (e / 32) of hmask[e % 32],
// and a set bit means q >= 4. Scale j has its low nibble in scales[j] (j < 8) or the high nibble of
// scales[j - 8], and its top 2 bits at bit 2 * (j / 4) of scales[8 + j % 4].
// Port of ggml's quantize_row_q3_K_ref / dequantize_row_q3_K.

import { GGMLType } from '../../gguf/ggml-types.ts';
import { registerQuant } from '../traits.ts';
import { readHalf, writeHalf } from './half-bytes.ts';
import { QK_K, clamp, makeQ3Quants, nearestInt, packTwoBit, superBlocks } from './k-quant-search.ts';

const BLOCK_BYTES = 110;
const HMASK = 0;
const QS = 32;
const SCALES = 96;
const D = 108;
const f = Math.fround;

/** The 6-bit scale of group j (0..15), still offset by 32, from the 12 packed bytes at q[o..o+12). */
export function q3kScale(q: Uint8Array, o: number, j: number): number {
  const low = j < 8 ? q[o + j] & 0xf : q[o + j - 8] >> 4;
  return low | (((q[o + 8 + (j % 4)] >> (2 * (j >> 2))) & 3) << 4);
}

export function quantizeRowQ3K(src: Float32Array, dst: Uint8Array, n: number): void {
  const nb = superBlocks('Q3_K', n, BLOCK_BYTES, dst.length, src.length);
  const L = new Int8Array(QK_K);
  const scales = new Float32Array(16);
  const l8 = new Int8Array(1); // C's `int8_t l` truncation of the rounded scale

  for (let i = 0; i < nb; i++) {
    const x = src.subarray(i * QK_K, (i + 1) * QK_K);
    const o = i * BLOCK_BYTES;
    let maxScale = 0; // the scale of largest magnitude, with its sign
    let amax = 0;
    for (let j = 0; j < 16; j++) {
      scales[j] = makeQ3Quants(16, 4, x.subarray(16 * j, 16 * j + 16), L.subarray(16 * j, 16 * j + 16), true);
      const scale = Math.abs(scales[j]);
      if (scale > amax) {
        amax = scale;
        maxScale = scales[j];
      }
    }

    dst.fill(0, o + SCALES, o + SCALES + 12);
    if (maxScale !== 0) {
      const iscale = f(-32 / maxScale);
      for (let j = 0; j < 16; j++) {
        l8[0] = nearestInt(f(iscale * scales[j]));
        const l = clamp(l8[0], -32, 31) + 32;
        if (j < 8) dst[o + SCALES + j] = l & 0xf;
        else dst[o + SCALES + j - 8] |= (l & 0xf) << 4;
        dst[o + SCALES + 8 + (j % 4)] |= (l >> 4) << (2 * (j >> 2));
      }
      writeHalf(dst, o + D, f(1 / iscale));
    } else {
      writeHalf(dst, o + D, 0);
    }

    // Requantize against the scales as stored.
    const dAll = readHalf(dst, o + D);
    for (let j = 0; j < 16; j++) {
      const d = f(dAll * (q3kScale(dst, o + SCALES, j) - 32));
      if (d === 0) continue;
      for (let ii = 0; ii < 16; ii++) L[16 * j + ii] = clamp(nearestInt(f(x[16 * j + ii] / d)), -4, 3) + 4;
    }

    // The high bit of the 1st 32 quants goes to bit 0 of hmask[0..32), of the next 32 to bit 1, and so on.
    dst.fill(0, o + HMASK, o + HMASK + 32);
    for (let j = 0; j < QK_K; j++) {
      if (L[j] > 3) {
        dst[o + HMASK + (j % 32)] |= 1 << (j >> 5);
        L[j] -= 4;
      }
    }
    packTwoBit(L, dst, o + QS);
  }
}

export function dequantizeRowQ3K(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = superBlocks('Q3_K', n, BLOCK_BYTES, src.length, dst.length);
  let y = 0;
  for (let i = 0; i < nb; i++) {
    const o = i * BLOCK_BYTES;
    const dAll = readHalf(src, o + D);
    let is = 0;
    let m = 1;
    for (let q = o + QS; q < o + QS + 64; q += 32) {
      for (let shift = 0; shift < 8; shift += 2, m <<= 1) {
        for (let half = 0; half < 32; half += 16) {
          const dl = f(dAll * (q3kScale(src, o + SCALES, is++) - 32));
          for (let l = 0; l < 16; l++) {
            const low = (src[q + half + l] >> shift) & 3;
            const high = src[o + HMASK + half + l] & m ? 0 : 4;
            dst[y++] = dl * (low - high);
          }
        }
      }
    }
  }
}

registerQuant({ id: GGMLType.Q3_K, vecDotType: GGMLType.Q8_K, quantize: quantizeRowQ3K, dequantize: dequantizeRowQ3K });
