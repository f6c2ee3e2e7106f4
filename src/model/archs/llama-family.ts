// The llama-family decoder (llama, mistral, qwen2, ...) from the shared blocks of ../blocks.ts: its tensor table
// and its layer, for the architecture files that differ from it only in options (archs/llama.ts, archs/qwen2.ts),
// and its pieces (global / attention / feed-forward tensors and weights, the model around the layers) for those
// that change one part (archs/qwen3.ts: per-head Q/K norms; archs/qwen3moe.ts: a mixture-of-experts FFN).
//
// Per layer: rmsnorm -> q,k,v (+bias) -> rope -> causal attention over the KV cache -> output -> residual
//            -> rmsnorm -> gate/up -> swiglu -> down -> residual.

import { attentionBlock, feedForwardBlock, type AttentionWeights, type FeedForwardWeights } from '../blocks.ts';
import type { DecoderHParams } from '../hparams.ts';
import type { DecoderModel, LayerWeights, ModelWeights, TensorDecl, TensorTable, WeightSet } from './types.ts';

export interface LlamaFamilyOptions {
  /** The Q, K and V projections carry biases: 'required' (qwen2) or 'optional' (llama files may have them). */
  qkvBias: 'required' | 'optional';
}

type H = DecoderHParams;
const qDim = (hp: H) => hp.nHead * hp.headDim;
const kvDim = (hp: H) => hp.nHeadKv * hp.headDim;

/** The global tensors of a llama-family file: embedding, output norm, output head (absent: tied), rope factors. */
export function llamaFamilyGlobalTensors(): TensorDecl<H>[] {
  return [
    { base: 'token_embd', kind: 'matrix', shape: (hp) => [hp.nEmbd, hp.nVocab] },
    { base: 'output_norm', kind: 'vector', shape: (hp) => [hp.nEmbd] },
    { base: 'output', kind: 'matrix', shape: (hp) => [hp.nEmbd, hp.nVocab], optional: true }, // absent: tied
    { base: 'rope_freqs', kind: 'host', shape: (hp) => [hp.rope.nRot / 2], optional: true },
  ];
}

/** A layer's attention tensors: its norm, the Q, K, V (+ biases) and output projections. */
export function llamaAttentionTensors(o: LlamaFamilyOptions): TensorDecl<H>[] {
  const bias = (base: string, n: (hp: H) => number): TensorDecl<H> =>
    ({ base, suffix: 'bias', kind: 'vector', shape: (hp) => [n(hp)], optional: o.qkvBias === 'optional' });
  return [
    { base: 'attn_norm', kind: 'vector', shape: (hp) => [hp.nEmbd] },
    { base: 'attn_q', kind: 'matrix', shape: (hp) => [hp.nEmbd, qDim(hp)] },
    { base: 'attn_k', kind: 'matrix', shape: (hp) => [hp.nEmbd, kvDim(hp)] },
    { base: 'attn_v', kind: 'matrix', shape: (hp) => [hp.nEmbd, kvDim(hp)] },
    { base: 'attn_output', kind: 'matrix', shape: (hp) => [qDim(hp), hp.nEmbd] },
    bias('attn_q', qDim),
    bias('attn_k', kvDim),
    bias('attn_v', kvDim),
  ];
}

/** A layer's dense SwiGLU feed-forward tensors: its norm, gate, up and down. */
export function llamaFeedForwardTensors(): TensorDecl<H>[] {
  return [
    { base: 'ffn_norm', kind: 'vector', shape: (hp) => [hp.nEmbd] },
    { base: 'ffn_gate', kind: 'matrix', shape: (hp) => [hp.nEmbd, hp.nFF] },
    { base: 'ffn_up', kind: 'matrix', shape: (hp) => [hp.nEmbd, hp.nFF] },
    { base: 'ffn_down', kind: 'matrix', shape: (hp) => [hp.nFF, hp.nEmbd] },
  ];
}

/** The tensors of a llama-family file, declared once. */
export function llamaFamilyTensors(o: LlamaFamilyOptions): TensorTable<H> {
  return { global: llamaFamilyGlobalTensors(), layer: [...llamaAttentionTensors(o), ...llamaFeedForwardTensors()] };
}

/** A layer's attention weights from llamaAttentionTensors. */
export function llamaAttentionWeights(L: WeightSet): AttentionWeights {
  return {
    norm: { kind: 'rms', weight: L.vector('attn_norm') },
    wq: L.matrix('attn_q'), wk: L.matrix('attn_k'), wv: L.matrix('attn_v'), wo: L.matrix('attn_output'),
    bq: L.optionalVector('attn_q', 'bias'), bk: L.optionalVector('attn_k', 'bias'), bv: L.optionalVector('attn_v', 'bias'),
  };
}

/** A layer's feed-forward weights from llamaFeedForwardTensors. */
export function llamaFeedForwardWeights(L: WeightSet): FeedForwardWeights {
  return {
    norm: { kind: 'rms', weight: L.vector('ffn_norm') },
    kind: 'swiglu',
    wGate: L.matrix('ffn_gate'), wUp: L.matrix('ffn_up'), wDown: L.matrix('ffn_down'),
  };
}

/**
 * A llama-family model around its layers: embedding, output norm and head (the embedding when tied) from
 * llamaFamilyGlobalTensors; `layer` runs layer il.
 */
export function llamaFamilyModel(hp: H, w: ModelWeights, layers: readonly LayerWeights[], layer: DecoderModel['layer']): DecoderModel {
  const g = w.global;
  const tokEmbd = g.matrix('token_embd');
  const output = g.optionalMatrix('output');
  return {
    dims: hp,
    nLayer: hp.nLayer,
    nVocab: hp.nVocab,
    tokEmbd,
    output: output ?? tokEmbd,
    tiedOutput: !output,
    layers,
    outputNorm: { kind: 'rms', weight: g.vector('output_norm') },
    ...(hp.pooling ? { pooling: hp.pooling } : {}),
    layer,
  };
}

/** The llama-family forward over weights loaded from llamaFamilyTensors. */
export function buildLlamaFamily(hp: H, w: ModelWeights): DecoderModel {
  const rope = { ...hp.rope, freqFactors: w.global.host('rope_freqs') };
  const layers = w.layers.map((L) => ({ attn: llamaAttentionWeights(L), ffn: llamaFeedForwardWeights(L) }));
  return llamaFamilyModel(hp, w, layers, (p, il) => {
    const L = layers[il];
    attentionBlock(p.backend, L.attn, hp, { rope }, il, p, p.s);
    feedForwardBlock(p.backend, L.ffn, hp, p.n, p.s);
  });
}
