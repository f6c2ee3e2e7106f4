// phi3: Phi-3 / Phi-3.5 mini and medium, Phi-4 mini (llama.cpp's src/models/phi3.cpp). A llama-family layer with
// fused projections, read as views of the file's bytes:
//   attn_qkv [nEmbd, qDim + 2 kvDim]: rows Q, then K, then V (files with separate attn_q/k/v load too);
//   ffn_up   [nEmbd, 2 nFF]:          rows [0, nFF) the gate, [nFF, 2 nFF) the up projection (HF's gate_up_proj,
//                                     which llama.cpp's build_ffn runs through ggml_swiglu: silu(first half) * second).
// Per layer: rmsnorm -> qkv -> NeoX rope (LongRoPE factors) -> Q * 1/sqrt(headDim) -> causal attention (scores
//            unscaled) -> output -> residual -> rmsnorm -> gate/up -> swiglu -> down -> residual.
//
// LongRoPE (the 128k models): rope_factors_long / rope_factors_short hold nRot/2 divisors of the rope frequencies.
// llama.cpp (llama_model::get_rope_factors) takes the long ones when its per-sequence context, padded up to a
// multiple of 256, exceeds rope.scaling.original_context_length, else the short ones; Hearth chooses the same by
// the context it is loaded for. rope.scaling.attn_factor (the converter's sqrt(1 + ln(s) / ln(orig ctx)), s the
// context extension) multiplies the rotated Q and K whichever factors are used: llama.cpp's yarn_attn_factor is 1
// times rope_attn_factor when, as in every phi3 file, no rope scaling type or factor is written (linear, scale 1).
//
// phi3.attention.sliding_window (2047 in Phi-3-mini-4k, 262144 in others) is read by llama.cpp and then disabled
// (load_arch_hparams: "Phi SWA is currently disabled", swa_type none): attention here is full causal as there.

import { HearthError } from '../../util/errors.ts';
import { view } from '../../kernels/backend.ts';
import type { GGUFMetadata } from '../../gguf/metadata.ts';
import { attentionBlock, feedForwardBlock, type AttentionWeights, type FeedForwardWeights } from '../blocks.ts';
import { readDecoderHParams, type DecoderHParams } from '../hparams.ts';
import { registerArch } from './registry.ts';
import type { BuildOptions, DecoderModel, ModelWeights, TensorTable, WeightSet } from './types.ts';

type H = DecoderHParams;
const qDim = (hp: H) => hp.nHead * hp.headDim;
const kvDim = (hp: H) => hp.nHeadKv * hp.headDim;
const qkvRows = (hp: H) => [qDim(hp), kvDim(hp), kvDim(hp)];

/** llama.cpp rounds the context up to a multiple of this (llama_context: GGML_PAD(n_ctx, 256)). */
const CTX_PAD = 256;

function readPhi3HParams(m: GGUFMetadata, nVocab: number): H {
  const hp = readDecoderHParams(m, 'phi3', 'neox', nVocab);
  // llama.cpp loads attn_output as [nEmbd, nEmbd] and the fused QKV's Q part as nEmbd rows
  if (qDim(hp) !== hp.nEmbd) {
    throw new HearthError('model_invalid', `${m.source}: phi3 needs head_count x head dim = embedding_length (${qDim(hp)} vs ${hp.nEmbd})`);
  }
  return hp;
}

const ropeFactors = (which: 'long' | 'short') =>
  ({ base: `rope_factors_${which}`, kind: 'host', shape: (hp: H) => [hp.rope.nRot / 2], optional: true }) as const;

const tensors: TensorTable<H> = {
  global: [
    { base: 'token_embd', kind: 'matrix', shape: (hp) => [hp.nEmbd, hp.nVocab] },
    { base: 'output_norm', kind: 'vector', shape: (hp) => [hp.nEmbd] },
    { base: 'output', kind: 'matrix', shape: (hp) => [hp.nEmbd, hp.nVocab], optional: true }, // absent: tied
    ropeFactors('long'),
    ropeFactors('short'),
  ],
  layer: [
    { base: 'attn_norm', kind: 'vector', shape: (hp) => [hp.nEmbd] },
    // fused (every converted Phi-3), or separate as create_tensor_qkv also accepts
    { base: 'attn_qkv', kind: 'matrix', shape: (hp) => [hp.nEmbd, qDim(hp) + 2 * kvDim(hp)], split: qkvRows, optional: true },
    { base: 'attn_qkv', suffix: 'bias', kind: 'vector', shape: (hp) => [qDim(hp) + 2 * kvDim(hp)], optional: true },
    { base: 'attn_q', kind: 'matrix', shape: (hp) => [hp.nEmbd, qDim(hp)], optional: true },
    { base: 'attn_k', kind: 'matrix', shape: (hp) => [hp.nEmbd, kvDim(hp)], optional: true },
    { base: 'attn_v', kind: 'matrix', shape: (hp) => [hp.nEmbd, kvDim(hp)], optional: true },
    { base: 'attn_q', suffix: 'bias', kind: 'vector', shape: (hp) => [qDim(hp)], optional: true },
    { base: 'attn_k', suffix: 'bias', kind: 'vector', shape: (hp) => [kvDim(hp)], optional: true },
    { base: 'attn_v', suffix: 'bias', kind: 'vector', shape: (hp) => [kvDim(hp)], optional: true },
    { base: 'attn_output', kind: 'matrix', shape: (hp) => [qDim(hp), hp.nEmbd] },
    { base: 'ffn_norm', kind: 'vector', shape: (hp) => [hp.nEmbd] },
    { base: 'ffn_up', kind: 'matrix', shape: (hp) => [hp.nEmbd, 2 * hp.nFF], split: (hp) => [hp.nFF, hp.nFF] },
    { base: 'ffn_down', kind: 'matrix', shape: (hp) => [hp.nFF, hp.nEmbd] },
  ],
};

/** The layer's Q, K, V projections and biases, from the fused tensor when the file has it. */
function qkv(hp: H, L: WeightSet): Pick<AttentionWeights, 'wq' | 'wk' | 'wv' | 'bq' | 'bk' | 'bv'> {
  const fused = L.optionalMatrices('attn_qkv');
  const sepBias = { bq: L.optionalVector('attn_q', 'bias'), bk: L.optionalVector('attn_k', 'bias'), bv: L.optionalVector('attn_v', 'bias') };
  if (!fused) return { wq: L.matrix('attn_q'), wk: L.matrix('attn_k'), wv: L.matrix('attn_v'), ...sepBias };
  const [wq, wk, wv] = fused;
  const b = L.optionalVector('attn_qkv', 'bias');
  if (!b) return { wq, wk, wv, ...(sepBias.bq && sepBias.bk && sepBias.bv ? sepBias : {}) };
  const [nq, nk] = [qDim(hp), kvDim(hp)];
  return { wq, wk, wv, bq: view(b, 0, nq), bk: view(b, nq, nk), bv: view(b, nq + nk, nk) };
}

/**
 * The LongRoPE factors for a context of nCtx: the long ones when llama.cpp's padded context exceeds the
 * original training context, else the short ones (either may be absent: plain rope).
 */
export function phi3RopeFactors(hp: H, g: WeightSet, nCtx: number): Float32Array | undefined {
  const padded = Math.ceil(nCtx / CTX_PAD) * CTX_PAD;
  return padded > hp.rope.nCtxOrig ? g.host('rope_factors_long') : g.host('rope_factors_short');
}

function buildPhi3(hp: H, w: ModelWeights, o: BuildOptions = { nCtx: hp.nCtxTrain }): DecoderModel {
  const g = w.global;
  const tokEmbd = g.matrix('token_embd');
  const rope = { ...hp.rope, freqFactors: phi3RopeFactors(hp, g, o.nCtx) };
  const attnOpts = { rope, qScale: 1 / Math.sqrt(hp.headDim) };
  const layers = w.layers.map((L) => {
    const attn: AttentionWeights = {
      norm: { kind: 'rms', weight: L.vector('attn_norm') },
      ...qkv(hp, L),
      wo: L.matrix('attn_output'),
    };
    const [wGate, wUp] = L.matrices('ffn_up');
    const ffn: FeedForwardWeights = {
      norm: { kind: 'rms', weight: L.vector('ffn_norm') },
      kind: 'swiglu',
      wGate, wUp, wDown: L.matrix('ffn_down'),
    };
    return { attn, ffn };
  });
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
    layer(p, il) {
      const L = layers[il];
      attentionBlock(p.backend, L.attn, hp, attnOpts, il, p, p.s);
      feedForwardBlock(p.backend, L.ffn, hp, p.n, p.s);
    },
  };
}

registerArch({ name: 'phi3', readHParams: readPhi3HParams, tensors, build: buildPhi3 });
