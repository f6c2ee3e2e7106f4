// The mixture-of-experts feed-forward block (llama.cpp's build_moe_ffn with softmax gating and SwiGLU experts:
// qwen3moe, qwen2moe's routed part, mixtral), written once against the Backend ops:
//   rmsnorm -> router logits = ffn_gate_inp · x [n, nExpert] -> softmax -> top-k experts per token (weights
//   renormalised to sum 1 when normalize) -> per routed (token, slot): silu(gate_e · x) * (up_e · x) -> down_e
//   -> out[t] = sum_j w[t, j] · down[t, j] -> residual.
// The experts' matmuls run by expert (matmulId): the rows routed to expert e are one batch, so at prefill each
// expert's weight is read once per layer, not once per token. Buffers are [n, nUsed, ·], slot j of token t at
// row t * nUsed + j, as ggml's [·, n_expert_used, n_tokens].

import type { Backend, WeightTensor } from '../kernels/types.ts';
import { norm, residual, type Activations, type BlockDims, type NormWeights } from './blocks.ts';

export interface MoeWeights {
  norm: NormWeights;
  /** ffn_gate_inp [nEmbd, nExpert]: one router logit per expert. */
  router: WeightTensor;
  /** Per expert: ffn_gate_exps / ffn_up_exps [nEmbd, nFFExp] and ffn_down_exps [nFFExp, nEmbd]. */
  gate: readonly WeightTensor[];
  up: readonly WeightTensor[];
  down: readonly WeightTensor[];
  /** A norm of the block's output before the residual add. */
  postNorm?: NormWeights;
}

export interface MoeOptions {
  nExpert: number;
  /** Experts per token (expert_used_count). */
  nUsed: number;
  /** Divide the chosen experts' probabilities by their sum (build_moe_ffn's norm_w). */
  normalize: boolean;
}

/** xb = moe(xb): the mixture of experts of the normed input in xb, n rows. */
export function moeFeedForward(b: Backend, L: MoeWeights, d: BlockDims, o: MoeOptions, n: number, s: Activations): void {
  const { nEmbd } = d;
  const { nExpert, nUsed } = o;
  const nFF = L.gate[0].rows;
  const slots = n * nUsed;
  const logits = s.extra('moeLogits', n * nExpert);             // [n, nExpert]
  b.matmul(L.router, s.xb, n, logits);
  const route = b.moeRoute(logits, n, nExpert, nUsed, o.normalize); // ids, weights [n, nUsed]
  const token = Int32Array.from({ length: slots }, (_, i) => Math.floor(i / nUsed));
  const slot = Int32Array.from({ length: slots }, (_, i) => i);
  const gate = s.extra('moeGate', slots * nFF);                  // [n, nUsed, nFF]
  const up = s.extra('moeUp', slots * nFF);
  b.matmulId(L.gate, s.xb, token, route.ids, gate);
  b.matmulId(L.up, s.xb, token, route.ids, up);
  b.swiglu(gate, up, slots * nFF);
  const down = s.extra('moeDown', slots * nEmbd);                // [n, nUsed, nEmbd]
  b.matmulId(L.down, gate, slot, route.ids, down);
  b.moeCombine(down, route.weights, n, nUsed, nEmbd, s.xb);
}

/** x += moe(norm(x)): the pre-norm mixture-of-experts block. */
export function moeBlock(b: Backend, L: MoeWeights, d: BlockDims, o: MoeOptions, n: number, s: Activations): void {
  norm(b, L.norm, d.normEps, s.x, d.nEmbd, n, s.xb);
  moeFeedForward(b, L, d, o, n, s);
  residual(b, L.postNorm, d, n, s);
}
