// Q5_0: blocks of 32, { f16 d; u8 qh[4]; u8 qs[16] } = 22 bytes. Element j is (q - 16) * d, where the
// low 4 bits of q are nibbles as in Q4_0 and bit 4 is bit j of qh (a little-endian u32).
// quantize is ggml's quantize_row_q5_0_ref, step by step in float32 (Math.fround) so the bytes match.

import { GGMLType } from '../../gguf/ggml-types.ts';
import { registerQuant } from '../traits.ts';
import { readHalf, writeHalf } from './half-bytes.ts';

const QK = 32;
const BLOCK_BYTES = 22;

function dequantize(src: Uint8Array, dst: Float32Array, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = b * BLOCK_BYTES;
    const y = b * QK;
    const d = readHalf(src, o);
    const qh = (src[o + 2] | (src[o + 3] << 8) | (src[o + 4] << 16) | (src[o + 5] << 24)) >>> 0;
    for (let j = 0; j < QK / 2; j++) {
      const q = src[o + 6 + j];
      const h0 = ((qh >>> j) & 1) << 4;
      const h1 = ((qh >>> (j + 16)) & 1) << 4;
      dst[y + j] = (((q & 0x0f) | h0) - 16) * d;
      dst[y + j + QK / 2] = (((q >> 4) | h1) - 16) * d;
    }
  }
}

function quantize(src: Float32Array, dst: Uint8Array, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const x = b * QK;
    const o = b * BLOCK_BYTES;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = src[x + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = Math.fround(max / -16);
    const id = d ? Math.fround(1 / d) : 0;
    writeHalf(dst, o, d);
    let qh = 0;
    for (let j = 0; j < QK / 2; j++) {
      const x0 = Math.fround(src[x + j] * id);
      const x1 = Math.fround(src[x + QK / 2 + j] * id);
      // C: MIN(31, (int8_t)(x + 16.5f)).
      const q0 = Math.min(31, Math.trunc(Math.fround(x0 + 16.5)));
      const q1 = Math.min(31, Math.trunc(Math.fround(x1 + 16.5)));
      dst[o + 6 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 >> 4) & 1) << j;
      qh |= ((q1 >> 4) & 1) << (j + QK / 2);
    }
    dst[o + 2] = qh & 0xff;
    dst[o + 3] = (qh >>> 8) & 0xff;
    dst[o + 4] = (qh >>> 16) & 0xff;
    dst[o + 5] = (qh >>> 24) & 0xff;
  }
}

registerQuant({ id: GGMLType.Q5_0, dequantize, quantize, vecDotType: GGMLType.Q8_0 });
