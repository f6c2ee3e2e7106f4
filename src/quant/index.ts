// Quantized tensor codecs: every ref/ file registers its row of QUANT_TRAITS on import; the helpers here
// check arguments and work on whole tensors (rows of rowLen elements).

import './ref/float.ts';
import './ref/q4_0.ts';
import './ref/q4_1.ts';
import './ref/q5_0.ts';
import './ref/q5_1.ts';
import './ref/q8_0.ts';
import './ref/q2_k.ts';
import './ref/q3_k.ts';
import './ref/q4_k.ts';
import './ref/q5_k.ts';
import './ref/q6_k.ts';
import './ref/q8_k.ts';

import { rowBytes, typeName } from '../gguf/ggml-types.ts';
import { HearthError } from '../util/errors.ts';
import { GGMLType, quantTraits, type QuantTraits } from './traits.ts';

import { quantizeActivations } from './activations.ts';
import { tensorEncoderFor } from './encoder.ts';
export { setTensorEncoder, tensorEncoderFor, type TensorEncoder } from './encoder.ts';
export { GGMLType, quantTraits, supportedQuantTypes, registerQuant, type QuantTraits } from './traits.ts';

/** The codec row for a type id; HearthError('unsupported_type') when none is registered. */
export function quantTraitsOrThrow(type: number): QuantTraits {
  const t = quantTraits(type);
  if (!t) throw new HearthError('unsupported_type', `no quantizer/dequantizer for tensor type ${typeName(type)}`);
  return t;
}

function checkElements(t: QuantTraits, n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new HearthError('invalid_argument', `${t.name}: ${what} must be a non-negative integer, got ${n}`);
  }
  if (n % t.blockSize !== 0) {
    throw new HearthError('invalid_argument',
      `${t.name}: ${what} ${n} is not a multiple of the block size ${t.blockSize}`);
  }
}

/**
 * Encode src as rows of rowLen elements (rowLen a multiple of the type's block size). An installed
 * TensorEncoder (see encoder.ts) does the work for the types it supports, with the same bytes; `reference`
 * forces the TypeScript encoders of ref/.
 */
export function quantizeTensor(type: number, src: Float32Array, rowLen: number, opts: { reference?: boolean } = {}): Uint8Array {
  const t = quantTraitsOrThrow(type);
  checkElements(t, rowLen, 'row length');
  if (rowLen === 0 || src.length % rowLen !== 0) {
    throw new HearthError('invalid_argument',
      `${t.name}: ${src.length} elements do not split into rows of ${rowLen}`);
  }
  const nRows = src.length / rowLen;
  const bytesPerRow = rowBytes(type, rowLen);
  const out = new Uint8Array(nRows * bytesPerRow);
  const fast = opts.reference ? undefined : tensorEncoderFor(type);
  if (fast) {
    fast.encode(type, src, rowLen, out);
    return out;
  }
  // Blocks never straddle rows, so each row is encoded on its own, exactly as ggml_quantize_chunk does.
  for (let r = 0; r < nRows; r++) {
    t.quantize(src.subarray(r * rowLen, (r + 1) * rowLen), out.subarray(r * bytesPerRow), rowLen);
  }
  return out;
}

/** Decode the first nElements of a packed tensor (nElements a multiple of the block size). */
export function dequantizeTensor(type: number, bytes: Uint8Array, nElements: number): Float32Array {
  const t = quantTraitsOrThrow(type);
  checkElements(t, nElements, 'element count');
  const need = rowBytes(type, nElements);
  if (bytes.length < need) {
    throw new HearthError('invalid_argument',
      `${t.name}: ${nElements} elements need ${need} bytes, got ${bytes.length}`);
  }
  const out = new Float32Array(nElements);
  t.dequantize(bytes, out, nElements);
  return out;
}

/**
 * What llama.cpp's CPU matmul does to activations before a dot product with a weight whose vec_dot_type
 * is `vecDotType`: pack x in that type (as its x86 SIMD code does, see activations.ts) and decode it again.
 * Returns a new array (a copy for F32).
 */
export function roundTripActivations(vecDotType: number, x: Float32Array): Float32Array {
  const t = quantTraitsOrThrow(vecDotType);
  if (t.id === GGMLType.F32) return x.slice();
  checkElements(t, x.length, 'activation length');
  const out = new Float32Array(x.length);
  t.dequantize(quantizeActivations(vecDotType, x), out, x.length);
  return out;
}

export { quantizeActivations };
