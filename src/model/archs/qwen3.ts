// qwen3: Qwen3 dense (0.6B … 32B) and Qwen3-Embedding (llama.cpp's src/models/qwen3.cpp). A llama-family layer
// without Q/K/V biases, with an RMSNorm over each head of Q and of K (attn_q_norm / attn_k_norm, [headDim]) before
// NeoX RoPE; nHead × headDim need not equal nEmbd (0.6B: 16 × 128 over 1024).
// Per layer: rmsnorm -> q,k,v -> per-head rmsnorm of q and k -> NeoX rope -> causal attention (1/sqrt(headDim))
//            -> output -> residual -> rmsnorm -> gate/up -> swiglu -> down -> residual.
// An embedding file says qwen3.pooling_type (Qwen3-Embedding: 3, last); the model then carries that pooling.

import { attentionBlock, feedForwardBlock, type AttentionWeights } from '../blocks.ts';
import { readDecoderHParams, type DecoderHParams } from '../hparams.ts';
import {
  llamaAttentionTensors, llamaAttentionWeights, llamaFamilyGlobalTensors, llamaFamilyModel, llamaFeedForwardTensors,
  llamaFeedForwardWeights,
} from './llama-family.ts';
import { registerArch } from './registry.ts';
import type { DecoderModel, ModelWeights, TensorDecl, TensorTable, WeightSet } from './types.ts';

type H = DecoderHParams;

/** The per-head Q and K norms of a Qwen3 layer. */
export const QK_NORM_TENSORS: readonly TensorDecl<H>[] = [
  { base: 'attn_q_norm', kind: 'vector', shape: (hp) => [hp.headDim] },
  { base: 'attn_k_norm', kind: 'vector', shape: (hp) => [hp.headDim] },
];

/** The attention tensors of a Qwen3 layer (dense or mixture-of-experts): llama's, no biases, per-head Q/K norms. */
export function qwen3AttentionTensors(): TensorDecl<H>[] {
  // llama.cpp's create_tensor_qkv reads biases where a file has them
  return [...llamaAttentionTensors({ qkvBias: 'optional' }), ...QK_NORM_TENSORS];
}

/** A Qwen3 layer's attention weights, the per-head norms included. */
export function qwen3AttentionWeights(L: WeightSet): AttentionWeights {
  return { ...llamaAttentionWeights(L), qNorm: L.vector('attn_q_norm'), kNorm: L.vector('attn_k_norm') };
}

/** llama.cpp's qwen3 graphs rotate without frequency factors: no rope_freqs. */
export function qwen3GlobalTensors(): TensorDecl<H>[] {
  return llamaFamilyGlobalTensors().filter((d) => d.base !== 'rope_freqs');
}

const tensors: TensorTable<H> = {
  global: qwen3GlobalTensors(),
  layer: [...qwen3AttentionTensors(), ...llamaFeedForwardTensors()],
};

function buildQwen3(hp: H, w: ModelWeights): DecoderModel {
  const attnOpts = { rope: hp.rope };
  const layers = w.layers.map((L) => ({ attn: qwen3AttentionWeights(L), ffn: llamaFeedForwardWeights(L) }));
  return llamaFamilyModel(hp, w, layers, (p, il) => {
    const L = layers[il];
    attentionBlock(p.backend, L.attn, hp, attnOpts, il, p, p.s);
    feedForwardBlock(p.backend, L.ffn, hp, p.n, p.s);
  });
}

registerArch({
  name: 'qwen3',
  readHParams: (m, nVocab) => readDecoderHParams(m, 'qwen3', 'neox', nVocab),
  tensors,
  build: buildQwen3,
});
