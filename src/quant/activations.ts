// Activation quantization as llama.cpp's x86 CPU backend performs it before a quantized dot product.
// Its SIMD quantize_row_q8_0 / q8_1 (AVX2, AVX-512) differ from the portable reference quantizer:
// the inverse scale is 127 / amax (not 1 / (amax / 127)) and x * id is rounded half to even (not half
// away from zero). Q8_1's s is f16(d * sum(q)) with the unrounded d. Other activation types (F16, BF16,
// Q8_K) use the reference quantizer, as ggml does on x86.

import { GGMLType, rowBytes } from '../gguf/ggml-types.ts';
import { quantTraits } from './traits.ts';
import { writeHalf } from './ref/half-bytes.ts';
import { HearthError } from '../util/errors.ts';

const fr = Math.fround;

/** Round half to even, as _mm256_round_ps(_MM_FROUND_TO_NEAREST_INT) does. */
function roundEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function quantizeQ8(x: Float32Array, dst: Uint8Array, withSum: boolean): void {
  const bytes = withSum ? 36 : 34;
  const qOff = withSum ? 4 : 2;
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
    const d = fr(amax / 127);
    const id = amax !== 0 ? fr(127 / amax) : 0;
    const o = b * bytes;
    writeHalf(dst, o, d);
    let sum = 0;
    for (let j = 0; j < 32; j++) {
      const q = roundEven(fr(x[b * 32 + j] * id));
      dst[o + qOff + j] = q & 0xff;
      sum += q;
    }
    if (withSum) writeHalf(dst, o + 2, fr(d * sum));
  }
}

/** x packed in `vecDotType` the way llama.cpp's CPU backend packs activations on x86. */
export function quantizeActivations(vecDotType: number, x: Float32Array): Uint8Array {
  const t = quantTraits(vecDotType);
  if (!t) throw new HearthError('unsupported_type', `no codec for activation type ${vecDotType}`);
  if (x.length % t.blockSize !== 0) {
    throw new HearthError('invalid_argument', `${t.name}: activation length ${x.length} is not a multiple of ${t.blockSize}`);
  }
  const out = new Uint8Array(rowBytes(vecDotType, x.length));
  if (vecDotType === GGMLType.Q8_0) quantizeQ8(x, out, false);
  else if (vecDotType === GGMLType.Q8_1) quantizeQ8(x, out, true);
  else t.quantize(x, out, x.length);
  return out;
}
