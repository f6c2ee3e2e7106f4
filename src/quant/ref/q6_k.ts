// Q6_K: 256 elements in 16 groups of 16; x ≈ d * sc * (q - 32) with 6-bit q and a signed 8-bit sc per group.
// block_q6_K (210 bytes): u8 ql[128], u8 qh[64], i8 scales[16], f16 d.
// Per half of 128 elements (ql + 64h, qh + 32h), for l < 32: ql[l] holds the low nibbles of elements
// l (low) and l + 64 (high), ql[l + 32] those of l + 32 and l + 96; qh[l] holds the top 2 bits of
// elements l, l + 32, l + 64, l + 96 at bits 0, 2, 4, 6.
// Port of ggml's quantize_row_q6_K_ref / dequantize_row_q6_K.

import { GGMLType } from '../../gguf/ggml-types.ts';
import { registerQuant } from '../traits.ts';
import { readHalf, writeHalf } from './half-bytes.ts';
import { GROUP_MAX_EPS, QK_K, clamp, makeQxQuants, nearestInt, superBlocks } from './k-quant-search.ts';

const BLOCK_BYTES = 210;
const QL = 0;
const QH = 128;
const SCALES = 192;
const D = 208;
const f = Math.fround;

export function quantizeRowQ6K(src: Float32Array, dst: Uint8Array, n: number): void {
  const nb = superBlocks('Q6_K', n, BLOCK_BYTES, dst.length, src.length);
  const L = new Int8Array(QK_K);
  const scales = new Float32Array(16);
  const sc = new Int8Array(dst.buffer, dst.byteOffset, dst.length); // the i8 view of scales[]

  for (let i = 0; i < nb; i++) {
    const x = src.subarray(i * QK_K, (i + 1) * QK_K);
    const o = i * BLOCK_BYTES;
    let maxScale = 0; // the scale of largest magnitude, with its sign
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuants(16, 32, x.subarray(16 * ib, 16 * ib + 16), L.subarray(16 * ib, 16 * ib + 16), 1, null);
      scales[ib] = scale;
      if (Math.abs(scale) > maxAbsScale) {
        maxAbsScale = Math.abs(scale);
        maxScale = scale;
      }
    }

    if (maxAbsScale < GROUP_MAX_EPS) {
      dst.fill(0, o, o + BLOCK_BYTES); // an all-zero block: d = 0
      continue;
    }

    const iscale = f(-128 / maxScale);
    writeHalf(dst, o + D, f(1 / iscale));
    for (let ib = 0; ib < 16; ib++) sc[o + SCALES + ib] = Math.min(127, nearestInt(f(iscale * scales[ib])));

    // Requantize against the scales as stored.
    const dAll = readHalf(dst, o + D);
    for (let j = 0; j < 16; j++) {
      const d = f(dAll * sc[o + SCALES + j]);
      if (d === 0) continue;
      for (let ii = 0; ii < 16; ii++) L[16 * j + ii] = clamp(nearestInt(f(x[16 * j + ii] / d)), -32, 31) + 32;
    }

    for (let j = 0; j < QK_K; j += 128) {
      const ql = o + QL + j / 2;
      const qh = o + QH + j / 4;
      for (let l = 0; l < 32; l++) {
        const q1 = L[j + l];
        const q2 = L[j + l + 32];
        const q3 = L[j + l + 64];
        const q4 = L[j + l + 96];
        dst[ql + l] = (q1 & 0xf) | ((q3 & 0xf) << 4);
        dst[ql + l + 32] = (q2 & 0xf) | ((q4 & 0xf) << 4);
        dst[qh + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
      }
    }
  }
}

export function dequantizeRowQ6K(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = superBlocks('Q6_K', n, BLOCK_BYTES, src.length, dst.length);
  const sc = new Int8Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < nb; i++) {
    const o = i * BLOCK_BYTES;
    const d = readHalf(src, o + D);
    for (let h = 0; h < 2; h++) {
      const y = i * QK_K + 128 * h;
      const ql = o + QL + 64 * h;
      const qh = o + QH + 32 * h;
      const s = o + SCALES + 8 * h;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const q1 = ((src[ql + l] & 0xf) | (((src[qh + l] >> 0) & 3) << 4)) - 32;
        const q2 = ((src[ql + l + 32] & 0xf) | (((src[qh + l] >> 2) & 3) << 4)) - 32;
        const q3 = ((src[ql + l] >> 4) | (((src[qh + l] >> 4) & 3) << 4)) - 32;
        const q4 = ((src[ql + l + 32] >> 4) | (((src[qh + l] >> 6) & 3) << 4)) - 32;
        dst[y + l] = f(d * sc[s + is]) * q1;
        dst[y + l + 32] = f(d * sc[s + is + 2]) * q2;
        dst[y + l + 64] = f(d * sc[s + is + 4]) * q3;
        dst[y + l + 96] = f(d * sc[s + is + 6]) * q4;
      }
    }
  }
}

registerQuant({ id: GGMLType.Q6_K, vecDotType: GGMLType.Q8_K, quantize: quantizeRowQ6K, dequantize: dequantizeRowQ6K });
