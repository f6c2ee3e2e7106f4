// Q4_1: blocks of 32, { f16 d; f16 m; u8 qs[16] } = 20 bytes. Element j is q * d + m, with q the low
// nibble of qs[j] for j < 16 and the high nibble of qs[j - 16] otherwise.
// quantize is ggml's quantize_row_q4_1_ref, step by step in float32 (Math.fround) so the bytes match.

import { GGMLType } from '../../gguf/ggml-types.ts';
import { registerQuant } from '../traits.ts';
import { readHalf, writeHalf } from './half-bytes.ts';

const QK = 32;
const BLOCK_BYTES = 20;
const FLT_MAX = 3.4028234663852886e38;

function dequantize(src: Uint8Array, dst: Float32Array, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = b * BLOCK_BYTES;
    const y = b * QK;
    const d = readHalf(src, o);
    const m = readHalf(src, o + 2);
    for (let j = 0; j < QK / 2; j++) {
      const q = src[o + 4 + j];
      dst[y + j] = Math.fround((q & 0x0f) * d) + m;
      dst[y + j + QK / 2] = Math.fround((q >> 4) * d) + m;
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
    const d = Math.fround(Math.fround(max - min) / 15);
    const id = d ? Math.fround(1 / d) : 0;
    writeHalf(dst, o, d);
    writeHalf(dst, o + 2, min);
    for (let j = 0; j < QK / 2; j++) {
      const x0 = Math.fround(Math.fround(src[x + j] - min) * id);
      const x1 = Math.fround(Math.fround(src[x + QK / 2 + j] - min) * id);
      // C: MIN(15, (int8_t)(x + 0.5f)).
      const q0 = Math.min(15, Math.trunc(Math.fround(x0 + 0.5)));
      const q1 = Math.min(15, Math.trunc(Math.fround(x1 + 0.5)));
      dst[o + 4 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
    }
  }
}

registerQuant({ id: GGMLType.Q4_1, dequantize, quantize, vecDotType: GGMLType.Q8_1, minOffset: 2 });
