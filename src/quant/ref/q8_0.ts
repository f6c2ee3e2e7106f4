// Q8_0: blocks of 32, { f16 d; i8 qs[32] } = 34 bytes; element j is qs[j] * d.
// Q8_1: blocks of 32, { f16 d; f16 s; i8 qs[32] } = 36 bytes; the same values, plus s = d * sum(qs)
// (the activation side of the Q4_1 / Q5_1 dot products uses s to add the blocks' minimums at once).
// quantize is ggml's quantize_row_q8_0_ref / quantize_row_q8_1_ref, in float32 (Math.fround).

import { GGMLType } from '../../gguf/ggml-types.ts';
import { registerQuant } from '../traits.ts';
import { readHalf, writeHalf } from './half-bytes.ts';

const QK = 32;

/** C roundf: halfway cases go away from zero (Math.round sends them up). */
function roundf(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

// The two layouts differ only in the s field: Q8_1 puts it after d and shifts qs by two bytes.
const LAYOUT = {
  Q8_0: { blockBytes: 34, qsAt: 2, withSum: false },
  Q8_1: { blockBytes: 36, qsAt: 4, withSum: true },
} as const;
type Layout = (typeof LAYOUT)[keyof typeof LAYOUT];

function dequantizeInt8(src: Uint8Array, dst: Float32Array, n: number, { blockBytes, qsAt }: Layout): void {
  for (let b = 0; b < n / QK; b++) {
    const o = b * blockBytes;
    const y = b * QK;
    const d = readHalf(src, o);
    for (let j = 0; j < QK; j++) dst[y + j] = ((src[o + qsAt + j] << 24) >> 24) * d;
  }
}

function quantizeInt8(src: Float32Array, dst: Uint8Array, n: number, { blockBytes, qsAt, withSum }: Layout): void {
  for (let b = 0; b < n / QK; b++) {
    const x = b * QK;
    const o = b * blockBytes;
    let amax = 0;
    for (let j = 0; j < QK; j++) {
      const a = Math.abs(src[x + j]);
      amax = amax > a ? amax : a; // C MAX(amax, fabsf(v))
    }
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    writeHalf(dst, o, d);
    let sum = 0;
    for (let j = 0; j < QK; j++) {
      const q = roundf(Math.fround(src[x + j] * id));
      dst[o + qsAt + j] = q & 0xff;
      sum += q;
    }
    if (withSum) writeHalf(dst, o + 2, Math.fround(sum * d));
  }
}

registerQuant({
  id: GGMLType.Q8_0,
  vecDotType: GGMLType.Q8_0,
  dequantize: (src, dst, n) => dequantizeInt8(src, dst, n, LAYOUT.Q8_0),
  quantize: (src, dst, n) => quantizeInt8(src, dst, n, LAYOUT.Q8_0),
});

registerQuant({
  id: GGMLType.Q8_1,
  vecDotType: GGMLType.Q8_1,
  dequantize: (src, dst, n) => dequantizeInt8(src, dst, n, LAYOUT.Q8_1),
  quantize: (src, dst, n) => quantizeInt8(src, dst, n, LAYOUT.Q8_1),
});
