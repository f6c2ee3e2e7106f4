// Q2_K: 256 elements in 16 groups of 16; x ≈ d * sc * q - dmin * m with 2-bit q and 4-bit sc, m per group.
// block_q2_K (84 bytes): u8 scales[16] (sc in the low nibble, m in the high), u8 qs[64], f16 d, f16 dmin.
// qs byte 32*h + l holds, from bit 0 up, elements 128*h + l, +32, +64, +96.
// Port of ggml's quantize_row_q2_K_ref / dequantize_row_q2_K.

import { GGMLType } from '../../gguf/ggml-types.ts';
import { registerQuant } from '../traits.ts';
import { readHalf, writeHalf } from './half-bytes.ts';
import { QK_K, TENTH, clamp, makeQkx2Quants, nearestInt, packTwoBit, superBlocks } from './k-quant-search.ts';

const BLOCK_BYTES = 84;
const QS = 16;
const D = 80;
const DMIN = 82;
const f = Math.fround;

export function quantizeRowQ2K(src: Float32Array, dst: Uint8Array, n: number): void {
  const nb = superBlocks('Q2_K', n, BLOCK_BYTES, dst.length, src.length);
  const L = new Uint8Array(QK_K);
  const Laux = new Uint8Array(16);
  const weights = new Float32Array(16);
  const mins = new Float32Array(16);
  const scales = new Float32Array(16);
  const q4scale = 15;

  for (let i = 0; i < nb; i++) {
    const x = src.subarray(i * QK_K, (i + 1) * QK_K);
    const o = i * BLOCK_BYTES;
    let maxScale = 0; // scales are never negative: the min is taken out first
    let maxMin = 0;
    for (let j = 0; j < 16; j++) {
      for (let l = 0; l < 16; l++) weights[l] = Math.abs(x[16 * j + l]);
      scales[j] = makeQkx2Quants(16, 3, x.subarray(16 * j, 16 * j + 16), weights, L.subarray(16 * j, 16 * j + 16),
        mins, j, Laux, -0.5, TENTH, 15, true);
      if (scales[j] > maxScale) maxScale = scales[j];
      if (mins[j] > maxMin) maxMin = mins[j];
    }

    if (maxScale > 0) {
      const iscale = f(q4scale / maxScale);
      for (let j = 0; j < 16; j++) dst[o + j] = nearestInt(f(iscale * scales[j]));
      writeHalf(dst, o + D, f(maxScale / q4scale));
    } else {
      dst.fill(0, o, o + 16);
      writeHalf(dst, o + D, 0);
    }
    if (maxMin > 0) {
      const iscale = f(q4scale / maxMin);
      for (let j = 0; j < 16; j++) dst[o + j] |= nearestInt(f(iscale * mins[j])) << 4;
      writeHalf(dst, o + DMIN, f(maxMin / q4scale));
    } else {
      writeHalf(dst, o + DMIN, 0);
    }

    // Requantize against the scales as stored (f16 times 4 bits), not the searched ones.
    const dAll = readHalf(dst, o + D);
    const mAll = readHalf(dst, o + DMIN);
    for (let j = 0; j < 16; j++) {
      const d = f(dAll * (dst[o + j] & 0xf));
      if (d === 0) continue;
      const dm = f(mAll * (dst[o + j] >> 4));
      for (let ii = 0; ii < 16; ii++) L[16 * j + ii] = clamp(nearestInt(f(f(x[16 * j + ii] + dm) / d)), 0, 3);
    }

    packTwoBit(L, dst, o + QS);
  }
}

export function dequantizeRowQ2K(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = superBlocks('Q2_K', n, BLOCK_BYTES, src.length, dst.length);
  let y = 0;
  for (let i = 0; i < nb; i++) {
    const o = i * BLOCK_BYTES;
    const d = readHalf(src, o + D);
    const min = readHalf(src, o + DMIN);
    let is = 0;
    for (let q = o + QS; q < o + QS + 64; q += 32) {
      for (let shift = 0; shift < 8; shift += 2) {
        for (let half = 0; half < 32; half += 16) {
          const sc = src[o + is++];
          const dl = f(d * (sc & 0xf));
          const ml = f(min * (sc >> 4));
          for (let l = 0; l < 16; l++) dst[y++] = f(dl * ((src[q + half + l] >> shift) & 3)) - ml;
        }
      }
    }
  }
}

registerQuant({ id: GGMLType.Q2_K, vecDotType: GGMLType.Q8_K, quantize: quantizeRowQ2K, dequantize: dequantizeRowQ2K });
