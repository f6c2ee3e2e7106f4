// Reference matrix multiply over packed weights: y[t, r] = sum_c W[r, c] * x[t, c].
// Each weight row is decoded once per call and dotted with every token row (batched prefill).
// Activations are optionally packed in the weight type's vec_dot_type and decoded again, as ggml's CPU
// backend does, so logits can be compared closely with llama.cpp. For the "_1" types (Q4_1, Q5_1) ggml's
// dot adds m * s per block, s being the activation block's stored f16 sum: that correction is applied too.

import { GGMLType, rowBytes } from '../../gguf/ggml-types.ts';
import { quantTraitsOrThrow, quantizeActivations } from '../../quant/index.ts';
import { readHalf } from '../../quant/ref/half-bytes.ts';
import type { WeightTensor } from '../backend.ts';

interface Activations {
  x: Float32Array;
  /** Per token and 32-block: stored f16 sum s minus the sum of the decoded values (Q8_1 only). */
  sumError?: Float32Array;
}

export function matmul(w: WeightTensor, x: Float32Array, nTokens: number, y: Float32Array, roundActivations: boolean): void {
  const { cols, rows } = w;
  const traits = quantTraitsOrThrow(w.type);
  const act: Activations = roundActivations ? packActivations(traits.vecDotType, x, cols, nTokens) : { x };
  const xs = act.x;
  const minOffset = act.sumError ? traits.minOffset : undefined;
  const rb = rowBytes(w.type, cols);
  const nBlocks = cols / 32;
  const blockBytes = rb / nBlocks;
  const row = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    const bytes = w.data.subarray(r * rb, (r + 1) * rb);
    traits.dequantize(bytes, row, cols);
    for (let t = 0; t < nTokens; t++) {
      const o = t * cols;
      let s = 0;
      for (let c = 0; c < cols; c++) s += row[c] * xs[o + c];
      if (minOffset !== undefined && act.sumError) {
        for (let b = 0; b < nBlocks; b++) s += readHalf(bytes, b * blockBytes + minOffset) * act.sumError[t * nBlocks + b];
      }
      y[t * rows + r] = s;
    }
  }
}

function packActivations(vecDotType: number, x: Float32Array, cols: number, nTokens: number): Activations {
  const t = quantTraitsOrThrow(vecDotType);
  if (t.id === GGMLType.F32) return { x };
  const out = new Float32Array(cols * nTokens);
  const withSums = vecDotType === GGMLType.Q8_1;
  const nBlocks = cols / 32;
  const sumError = withSums ? new Float32Array(nBlocks * nTokens) : undefined;
  for (let tok = 0; tok < nTokens; tok++) {
    const packed = quantizeActivations(vecDotType, x.subarray(tok * cols, (tok + 1) * cols));
    const dec = out.subarray(tok * cols, (tok + 1) * cols);
    t.dequantize(packed, dec, cols);
    if (sumError) {
      for (let b = 0; b < nBlocks; b++) {
        let sum = 0;
        for (let j = 0; j < 32; j++) sum += dec[b * 32 + j];
        sumError[tok * nBlocks + b] = readHalf(packed, b * t.typeSize + 2) - sum;
      }
    }
  }
  return { x: out, sumError };
}

/** Decode row `r` of a packed weight (embedding lookup, get-rows). */
export function getRow(w: WeightTensor, r: number, out: Float32Array): void {
  const rb = rowBytes(w.type, w.cols);
  quantTraitsOrThrow(w.type).dequantize(w.data.subarray(r * rb, (r + 1) * rb), out, w.cols);
}
