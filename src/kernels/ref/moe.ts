// Reference mixture-of-experts ops, as llama.cpp's build_moe_ffn builds them from ggml ops (softmax gating):
//   route:   probs = soft_max(logits) per token -> top-k experts by prob (argsort, descending) -> their probs,
//            divided by their sum (clamped below at 6.103515625e-5, the smallest normal f16) when normalising;
//   matmul by ids: row i of the output is expert ids[i]'s weight times input row src[i] (ggml_mul_mat_id), the
//            rows routed to one expert gathered into one batch so its weight is decoded once;
//   combine: out[t] = sum_j weights[t, j] * experts[t, j] (ggml_mul, then ggml_add over the slots in order).
// Each step rounds to f32 where ggml stores an f32 (expf, the 1/sum scale, the weights, each product and add).

import { HearthError } from '../../util/errors.ts';
import type { WeightTensor } from '../backend.ts';
import { matmul } from './matmul.ts';

const fr = Math.fround;

/** build_moe_ffn's clamp of the weights' sum before dividing by it. */
export const MOE_WEIGHT_SUM_MIN = 6.103515625e-5;

/** The experts chosen for each token and their weights, [nTokens, nUsed] each, slot 0 the most probable. */
export interface MoeRoute {
  readonly ids: Int32Array;
  readonly weights: Float32Array;
}

/**
 * Softmax over each token's nExpert router logits, the nUsed most probable experts (descending; ties to the lower
 * id), and their probabilities as weights, renormalised to sum to 1 when `normalize` (qwen3moe's norm_w).
 */
export function moeRoute(logits: Float32Array, nTokens: number, nExpert: number, nUsed: number, normalize: boolean): MoeRoute {
  if (!Number.isInteger(nUsed) || nUsed < 1 || nUsed > nExpert) {
    throw new HearthError('invalid_argument', `moeRoute: ${nUsed} experts used of ${nExpert}`);
  }
  const ids = new Int32Array(nTokens * nUsed);
  const weights = new Float32Array(nTokens * nUsed);
  const probs = new Float32Array(nExpert);
  const order = new Int32Array(nExpert);
  for (let t = 0; t < nTokens; t++) {
    const o = t * nExpert;
    let max = -Infinity;
    for (let e = 0; e < nExpert; e++) max = Math.max(max, logits[o + e]);
    let sum = 0;
    for (let e = 0; e < nExpert; e++) {
      probs[e] = fr(Math.exp(fr(logits[o + e] - max)));
      sum += probs[e];
    }
    const inv = fr(1 / sum);
    for (let e = 0; e < nExpert; e++) {
      probs[e] = fr(probs[e] * inv);
      order[e] = e;
    }
    order.sort((a, b) => probs[b] - probs[a] || a - b);
    let wsum = 0;
    for (let j = 0; j < nUsed; j++) {
      ids[t * nUsed + j] = order[j];
      weights[t * nUsed + j] = probs[order[j]];
      wsum += probs[order[j]];
    }
    if (normalize) {
      const s = Math.max(fr(wsum), MOE_WEIGHT_SUM_MIN);
      for (let j = 0; j < nUsed; j++) weights[t * nUsed + j] = fr(weights[t * nUsed + j] / s);
    }
  }
  return { ids, weights };
}

/** Throws unless every id names an expert, and src and ids pair up. */
export function checkIds(nExperts: number, src: Int32Array, ids: Int32Array): void {
  if (src.length !== ids.length) throw new HearthError('invalid_argument', `matmulId: ${src.length} source rows for ${ids.length} ids`);
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= nExperts) throw new HearthError('invalid_argument', `matmulId: expert id ${id} of ${nExperts}`);
  }
}

/** For each expert, the output rows i with ids[i] === e, in order (each expert's batch). */
export function rowsByExpert(nExperts: number, ids: Int32Array): Int32Array[] {
  const counts = new Int32Array(nExperts);
  for (const id of ids) counts[id]++;
  const rows = Array.from(counts, (c) => new Int32Array(c));
  counts.fill(0);
  ids.forEach((id, i) => { rows[id][counts[id]++] = i; });
  return rows;
}

/**
 * y[i] = experts[ids[i]] · x[src[i]] for i < ids.length: x is [*, cols], y [ids.length, rows] (every expert has
 * one shape). Activations are rounded through the weight's vec_dot_type as in matmul (per row, so batching
 * changes nothing).
 */
export function matmulId(experts: readonly WeightTensor[], x: Float32Array, src: Int32Array, ids: Int32Array, y: Float32Array,
  roundActivations: boolean): void {
  checkIds(experts.length, src, ids);
  const { cols, rows } = experts[0];
  for (const r of src) if (!Number.isInteger(r) || r < 0 || (r + 1) * cols > x.length) throw new HearthError('invalid_argument', `matmulId: source row ${r} is outside the input`);
  rowsByExpert(experts.length, ids).forEach((out, e) => {
    if (out.length === 0) return;
    const xs = new Float32Array(out.length * cols);
    out.forEach((i, r) => xs.set(x.subarray(src[i] * cols, (src[i] + 1) * cols), r * cols));
    const ys = new Float32Array(out.length * rows);
    matmul(experts[e], xs, out.length, ys, roundActivations);
    out.forEach((i, r) => y.set(ys.subarray(r * rows, (r + 1) * rows), i * rows));
  });
}

/** out[t] = sum_j weights[t, j] * experts[t, j] (rows of n), the products and the adds in f32, slot 0 first. */
export function moeCombine(experts: Float32Array, weights: Float32Array, nTokens: number, nUsed: number, n: number, out: Float32Array): void {
  for (let t = 0; t < nTokens; t++) {
    const o = t * n;
    for (let i = 0; i < n; i++) {
      let s = fr(experts[(t * nUsed) * n + i] * weights[t * nUsed]);
      for (let j = 1; j < nUsed; j++) s = fr(s + fr(experts[(t * nUsed + j) * n + i] * weights[t * nUsed + j]));
      out[o + i] = s;
    }
  }
}
