// Reference matrix multiply over packed weights: y[t, r] = sum_c W[r, c] * x[t, c].
// Each weight row is decoded once per call and dotted with every token row (batched prefill).
// Activations are optionally rounded through the weight type's vec_dot_type, as ggml's CPU backend does,
// so logits can be compared closely with llama.cpp.

import { rowBytes } from '../../gguf/ggml-types.ts';
import { quantTraitsOrThrow, roundTripActivations } from '../../quant/index.ts';
import type { WeightTensor } from '../backend.ts';

export function matmul(w: WeightTensor, x: Float32Array, nTokens: number, y: Float32Array, roundActivations: boolean): void {
  const { cols, rows } = w;
  const traits = quantTraitsOrThrow(w.type);
  const xs = roundActivations ? roundRows(traits.vecDotType, x, cols, nTokens) : x;
  const rb = rowBytes(w.type, cols);
  const row = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    traits.dequantize(w.data.subarray(r * rb, (r + 1) * rb), row, cols);
    for (let t = 0; t < nTokens; t++) {
      const o = t * cols;
      let s = 0;
      for (let c = 0; c < cols; c++) s += row[c] * xs[o + c];
      y[t * rows + r] = s;
    }
  }
}

function roundRows(vecDotType: number, x: Float32Array, cols: number, nTokens: number): Float32Array {
  const out = new Float32Array(cols * nTokens);
  for (let t = 0; t < nTokens; t++) {
    out.set(roundTripActivations(vecDotType, x.subarray(t * cols, (t + 1) * cols)), t * cols);
  }
  return out;
}

/** Decode row `r` of a packed weight (embedding lookup, get-rows). */
export function getRow(w: WeightTensor, r: number, out: Float32Array): void {
  const rb = rowBytes(w.type, w.cols);
  quantTraitsOrThrow(w.type).dequantize(w.data.subarray(r * rb, (r + 1) * rb), out, w.cols);
}
