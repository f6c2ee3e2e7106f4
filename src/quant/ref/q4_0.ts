// Q4_0: blocks of 32, { f16 d; u8 qs[16] } = 18 bytes. Element j is (q - 8) * d, where q is the low
// nibble of qs[j] for j < 16 and the high nibble of qs[j - 16] otherwise.
// quantize is ggml's quantize_row_q4_0_ref, step by step in float32 (Math.fround) so the bytes match.

import { GGMLType } from '../../gguf/ggml-types.ts';
import { registerQuant } from '../traits.ts';
import { readHalf, writeHalf } from './half-bytes.ts';

const QK = 32;
const BLOCK_BYTES = 18;

function dequantize(src: Uint8Array, dst: Float32Array, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = b * BLOCK_BYTES;
    const y = b * QK;
    const d = readHalf(src, o);
    for (let j = 0; j < QK / 2; j++) {
      const q = src[o + 2 + j];
      dst[y + j] = ((q & 0x0f) - 8) * d;
      dst[y + j + QK / 2] = ((q >> 4) - 8) * d;
    }
  }
}

function quantize(src: Float32Array, dst: Uint8Array, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const x = b * QK;
    const o = b * BLOCK_BYTES;
    // The value of largest magnitude, with its sign: it maps to q = 0 exactly (-8 * d).
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = src[x + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = Math.fround(max / -8);
    const id = d ? Math.fround(1 / d) : 0;
    writeHalf(dst, o, d);
    for (let j = 0; j < QK / 2; j++) {
      const x0 = Math.fround(src[x + j] * id);
      const x1 = Math.fround(src[x + QK / 2 + j] * id);
      // C: MIN(15, (int8_t)(x + 8.5f)), a truncating cast; the +8.5 makes it round to nearest.
      const q0 = Math.min(15, Math.trunc(Math.fround(x0 + 8.5)));
      const q1 = Math.min(15, Math.trunc(Math.fround(x1 + 8.5)));
      dst[o + 2 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
    }
  }
}

registerQuant({ id: GGMLType.Q4_0, dequantize, quantize, vecDotType: GGMLType.Q8_0 });
