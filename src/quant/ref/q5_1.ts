// Q5_1: blocks of 32, { f16 d; f16 m; u8 qh[4]; u8 qs[16] } = 24 bytes. Element j is q * d + m, where
// the low 4 bits of q are nibbles as in Q4_1 and bit 4 is bit j of qh (a little-endian u32).
// quantize is ggml's quantize_row_q5_1_ref, step by step in float32 (Math.fround) so the bytes match.

import { GGMLType } from '../../gguf/ggml-types.ts';
import { registerQuant } from '../traits.ts';
import { readHalf, writeHalf } from './half-bytes.ts';

const QK = 32;
const BLOCK_BYTES = 24;
const FLT_MAX = 3.4028234663852886e38;

function dequantize(src: Uint8Array, dst: Float32Array, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = b * BLOCK_BYTES;
    const y = b * QK;
    const d = readHalf(src, o);
    const m = readHalf(src, o + 2);
    const qh = (src[o + 4] | (src[o + 5] << 8) | (src[o + 6] << 16) | (src[o + 7] << 24)) >>> 0;
    for (let j = 0; j < QK / 2; j++) {
      const q = src[o + 8 + j];
      const h0 = ((qh >>> j) & 1) << 4;
      const h1 = ((qh >>> (j + 16)) & 1) << 4;
      dst[y + j] = Math.fround(((q & 0x0f) | h0) * d) + m;
      dst[y + j + QK / 2] = Math.fround(((q >> 4) | h1) * d) + m;
    }
  }
}

function quantize(src: Float32Array, dst: Uint8Array, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const x = b * QK;
    const o = b * BLOCK_BYTES;
    let min = FLT_MAX;
    let max = -FLT_MAX;
    for (let j = 0; j < QK; j++) {
      const v = src[x + j];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = Math.fround(Math.fround(max - min) / 31);
    const id = d ? Math.fround(1 / d) : 0;
    writeHalf(dst, o, d);
    writeHalf(dst, o + 2, min);
    let qh = 0;
    for (let j = 0; j < QK / 2; j++) {
      const x0 = Math.fround(Math.fround(src[x + j] - min) * id);
      const x1 = Math.fround(Math.fround(src[x + QK / 2 + j] - min) * id);
      // C: (uint8_t)(x + 0.5f), no clamp: x is at most 31 here.
      const q0 = Math.trunc(Math.fround(x0 + 0.5));
      const q1 = Math.trunc(Math.fround(x1 + 0.5));
      dst[o + 8 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 >> 4) & 1) << j;
      qh |= ((q1 >> 4) & 1) << (j + QK / 2);
    }
    dst[o + 4] = qh & 0xff;
    dst[o + 5] = (qh >>> 8) & 0xff;
    dst[o + 6] = (qh >>> 16) & 0xff;
    dst[o + 7] = (qh >>> 24) & 0xff;
  }
}

registerQuant({ id: GGMLType.Q5_1, dequantize, quantize, vecDotType: GGMLType.Q8_1, minOffset: 2 });
