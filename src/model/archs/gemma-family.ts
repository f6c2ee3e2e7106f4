// The Gemma 2 / Gemma 3 (text) decoders (llama.cpp's src/models/gemma2.cpp, gemma3.cpp), from the shared blocks
// of ../blocks.ts: their hyper-parameters, tensor table and forward, for archs/gemma2.ts and archs/gemma3.ts.
//
// Input: token rows x sqrt(nEmbd) (gemma3: rows given as embeddings stay as they are).
// Per layer: rmsnorm -> q,k,v -> (gemma3: per-head RMSNorm of Q and K) -> NeoX rope -> Q * attention scale
//            -> causal attention (sliding window on the local layers; gemma2: scores soft-capped) -> output
//            -> rmsnorm (post_attention_norm) -> residual -> rmsnorm -> gate/up -> GEGLU (tanh GELU) -> down
//            -> rmsnorm (post_ffw_norm) -> residual.
// Output: rmsnorm -> tied head (gemma3: output.weight when the file has it) -> final soft-cap (gemma2 always,
//         gemma3 when the file gives one).
//
// Local (sliding-window) layers, as llama.cpp's load_swa_pattern / llama_hparams::set_swa_pattern: an explicit
// per-layer array {arch}.attention.sliding_window_pattern, else a period n (that key as a number, else gemma2 2,
// gemma3 6) where layer il is local iff il % n < n - 1, so the last layer of each period is global. gemma2's
// window defaults to 4096; gemma3 has local layers only when the file gives attention.sliding_window > 0.
//
// RoPE per layer (llama_model::get_rope_freq_base/scale): local layers take rope.freq_base_swa (gemma2: default
// rope.freq_base; gemma3: default 10000) and, for gemma3, no rope scaling (freq scale 1), while gemma2's local
// layers keep the file's scaling; global layers take rope.freq_base and the file's rope scaling.
//
// Attention scale (llama.cpp's f_attention_scale, Gemma's query_pre_attn_scalar): 1 / sqrt(headDim), except for
// the 27B models (gemma2 46 layers, gemma3 62), 1 / sqrt(nEmbd / nHead). Q is multiplied by it after RoPE and
// the scores take 1, as in llama.cpp (so Q is rounded for the f16 cache's products after its scaling).

import { view } from '../../kernels/backend.ts';
import type { AttentionOptions, RopeParams } from '../../kernels/types.ts';
import type { GGUFMetadata } from '../../gguf/metadata.ts';
import { GGUFValueType } from '../../gguf/value-types.ts';
import { HearthError } from '../../util/errors.ts';
import {
  attentionBlock, feedForwardBlock, type AttentionBlockOptions, type AttentionWeights, type FeedForwardWeights,
} from '../blocks.ts';
import { readDecoderHParams, type DecoderHParams } from '../hparams.ts';
import type { DecoderModel, ModelWeights, TensorTable } from './types.ts';

export type GemmaArch = 'gemma2' | 'gemma3';

export interface GemmaHParams extends DecoderHParams {
  /** swaLayers[il]: layer il attends through a sliding window (a local layer). */
  swaLayers: boolean[];
  /** The local layers' window in positions (llama.cpp n_swa): key kpos is visible to qpos iff qpos - kpos < window. */
  window: number;
  /** The local layers' RoPE base and linear scale. */
  ropeSwa: { freqBase: number; freqScale: number };
  /** Q is multiplied by this after RoPE (llama.cpp f_attention_scale). */
  attnScale: number;
  /** Attention scores are soft-capped: cap * tanh(score / cap) (gemma2's attn_logit_softcapping). */
  attnSoftcap?: number;
  /** Logits are soft-capped (final_logit_softcapping). */
  finalSoftcap?: number;
}

/** Per family: llama.cpp's built-in SWA period, and the layer count of the 27B model. */
const FAMILY: Record<GemmaArch, { swaPeriod: number; layers27B: number }> = {
  gemma2: { swaPeriod: 2, layers27B: 46 },
  gemma3: { swaPeriod: 6, layers27B: 62 },
};
/** gemma2's defaults when the file does not say (llama_hparams / llama_model_gemma2::load_arch_hparams). */
const GEMMA2_WINDOW = 4096;
const GEMMA2_ATTN_SOFTCAP = 50;
const GEMMA2_FINAL_SOFTCAP = 30;
/** llama_hparams::rope_freq_base_train_swa's default (gemma3 when the file has no rope.freq_base_swa). */
const DEFAULT_SWA_FREQ_BASE = 10_000;

/** llama_hparams::set_swa_pattern (dense_first false): layer il slides iff il % period < period - 1; period 0: all. */
export function swaPattern(nLayer: number, period: number): boolean[] {
  return Array.from({ length: nLayer }, (_, il) => period === 0 || il % period < period - 1);
}

/** The local layers from {arch}.attention.sliding_window_pattern: a per-layer array, a period, or the default period. */
function readSwaLayers(m: GGUFMetadata, arch: GemmaArch, nLayer: number): boolean[] {
  const key = `${arch}.attention.sliding_window_pattern`;
  const v = m.get(key);
  if (v?.type === GGUFValueType.ARRAY) {
    const items = v.value as ArrayLike<unknown>;
    if (items.length > nLayer) {
      throw new HearthError('model_invalid', `${m.source}: ${key} has ${items.length} entries for ${nLayer} layers`);
    }
    // llama.cpp's get_arr fills the layers the array names; the rest stay global
    return Array.from({ length: nLayer }, (_, il) => il < items.length && Number(items[il]) !== 0);
  }
  const period = m.getNumber(key, FAMILY[arch].swaPeriod);
  if (!Number.isInteger(period) || period < 0) throw new HearthError('model_invalid', `${m.source}: ${key} = ${period} is not a layer period`);
  return swaPattern(nLayer, period);
}

export function readGemmaHParams(m: GGUFMetadata, arch: GemmaArch, nVocab: number): GemmaHParams {
  const hp = readDecoderHParams(m, arch, 'neox', nVocab);
  const k = (s: string) => `${arch}.${s}`;
  let swaLayers: boolean[];
  let window: number;
  let ropeSwa: GemmaHParams['ropeSwa'];
  if (arch === 'gemma2') {
    window = m.getNumber(k('attention.sliding_window'), GEMMA2_WINDOW);
    swaLayers = readSwaLayers(m, arch, hp.nLayer);
    ropeSwa = { freqBase: m.getNumber(k('rope.freq_base_swa'), hp.rope.freqBase), freqScale: hp.rope.freqScale };
  } else {
    window = m.getNumber(k('attention.sliding_window'), 0);
    swaLayers = window > 0 ? readSwaLayers(m, arch, hp.nLayer) : new Array<boolean>(hp.nLayer).fill(false);
    ropeSwa = { freqBase: window > 0 ? m.getNumber(k('rope.freq_base_swa'), DEFAULT_SWA_FREQ_BASE) : DEFAULT_SWA_FREQ_BASE, freqScale: 1 };
  }
  if (swaLayers.some((s) => s) && !(Number.isInteger(window) && window > 0)) {
    throw new HearthError('model_invalid', `${m.source}: ${k('attention.sliding_window')} = ${window} must be a positive number of positions`);
  }
  const is27B = hp.nLayer === FAMILY[arch].layers27B;
  const attnScale = Math.fround(1 / Math.sqrt(is27B ? Math.floor(hp.nEmbd / hp.nHead) : hp.headDim));
  const finalSoftcap = arch === 'gemma2'
    ? m.getNumber(k('final_logit_softcapping'), GEMMA2_FINAL_SOFTCAP)
    : m.getNumber(k('final_logit_softcapping'), 0) || undefined;
  return {
    ...hp,
    swaLayers,
    window,
    ropeSwa,
    attnScale,
    attnSoftcap: arch === 'gemma2' ? m.getNumber(k('attn_logit_softcapping'), GEMMA2_ATTN_SOFTCAP) : undefined,
    finalSoftcap,
  };
}

/** The RoPE parameters of layer il: the local layers' base and scale, or the global ones. */
export function layerRope(hp: GemmaHParams, il: number): RopeParams {
  return hp.swaLayers[il] ? { ...hp.rope, ...hp.ropeSwa } : { ...hp.rope };
}

/** The attention of layer il: its RoPE, the Q scale, and the window and soft-cap where they apply. */
export function layerAttention(hp: GemmaHParams, il: number): AttentionBlockOptions {
  const mask: AttentionOptions = {};
  if (hp.swaLayers[il]) mask.window = hp.window;
  if (hp.attnSoftcap !== undefined) mask.softcap = hp.attnSoftcap;
  const o: AttentionBlockOptions = { rope: layerRope(hp, il), qScale: hp.attnScale };
  return Object.keys(mask).length ? { ...o, mask } : o;
}

type H = GemmaHParams;
const qDim = (hp: H) => hp.nHead * hp.headDim;
const kvDim = (hp: H) => hp.nHeadKv * hp.headDim;

/** The tensors of a gemma2 / gemma3 file, declared once. */
export function gemmaTensors(arch: GemmaArch): TensorTable<H> {
  const gemma3 = arch === 'gemma3';
  return {
    global: [
      { base: 'token_embd', kind: 'matrix', shape: (hp) => [hp.nEmbd, hp.nVocab] },
      { base: 'output_norm', kind: 'vector', shape: (hp) => [hp.nEmbd] },
      // gemma2's head is always the token embedding (llama.cpp reads no output.weight); gemma3 may have one
      ...(gemma3 ? [{ base: 'output', kind: 'matrix', shape: (hp: H) => [hp.nEmbd, hp.nVocab], optional: true } as const] : []),
    ],
    layer: [
      { base: 'attn_norm', kind: 'vector', shape: (hp) => [hp.nEmbd] },
      { base: 'attn_q', kind: 'matrix', shape: (hp) => [hp.nEmbd, qDim(hp)] },
      { base: 'attn_k', kind: 'matrix', shape: (hp) => [hp.nEmbd, kvDim(hp)] },
      { base: 'attn_v', kind: 'matrix', shape: (hp) => [hp.nEmbd, kvDim(hp)] },
      ...(gemma3
        ? [
          { base: 'attn_q_norm', kind: 'vector', shape: (hp: H) => [hp.headDim] } as const,
          { base: 'attn_k_norm', kind: 'vector', shape: (hp: H) => [hp.headDim] } as const,
        ]
        : []),
      { base: 'attn_output', kind: 'matrix', shape: (hp) => [qDim(hp), hp.nEmbd] },
      { base: 'post_attention_norm', kind: 'vector', shape: (hp) => [hp.nEmbd] },
      { base: 'ffn_norm', kind: 'vector', shape: (hp) => [hp.nEmbd] },
      { base: 'ffn_gate', kind: 'matrix', shape: (hp) => [hp.nEmbd, hp.nFF] },
      { base: 'ffn_up', kind: 'matrix', shape: (hp) => [hp.nEmbd, hp.nFF] },
      { base: 'ffn_down', kind: 'matrix', shape: (hp) => [hp.nFF, hp.nEmbd] },
      { base: 'post_ffw_norm', kind: 'vector', shape: (hp) => [hp.nEmbd] },
    ],
  };
}

/** The gemma2 / gemma3 forward over weights loaded from gemmaTensors(arch). */
export function buildGemma(arch: GemmaArch, hp: H, w: ModelWeights): DecoderModel {
  const g = w.global;
  const gemma3 = arch === 'gemma3';
  const tokEmbd = g.matrix('token_embd');
  const layers = w.layers.map((L) => {
    const attn: AttentionWeights = {
      norm: { kind: 'rms', weight: L.vector('attn_norm') },
      wq: L.matrix('attn_q'), wk: L.matrix('attn_k'), wv: L.matrix('attn_v'), wo: L.matrix('attn_output'),
      ...(gemma3 ? { qNorm: L.vector('attn_q_norm'), kNorm: L.vector('attn_k_norm') } : {}),
      postNorm: { kind: 'rms', weight: L.vector('post_attention_norm') },
    };
    const ffn: FeedForwardWeights = {
      norm: { kind: 'rms', weight: L.vector('ffn_norm') },
      kind: 'geglu',
      wGate: L.matrix('ffn_gate'), wUp: L.matrix('ffn_up'), wDown: L.matrix('ffn_down'),
      postNorm: { kind: 'rms', weight: L.vector('post_ffw_norm') },
    };
    return { attn, ffn };
  });
  const attnOpts = layers.map((_, il) => layerAttention(hp, il));
  const output = gemma3 ? g.optionalMatrix('output') : undefined;
  const embdScale = Math.fround(Math.sqrt(hp.nEmbd));
  return {
    dims: hp,
    nLayer: hp.nLayer,
    nVocab: hp.nVocab,
    tokEmbd,
    output: output ?? tokEmbd,
    tiedOutput: !output,
    layers,
    outputNorm: { kind: 'rms', weight: g.vector('output_norm') },
    logitSoftcap: hp.finalSoftcap,
    input(p) {
      const { nEmbd } = hp;
      // gemma2 scales every row; gemma3 token rows only (rows given as embeddings, e.g. an image's, stay)
      if (!gemma3 || p.segments.every((s) => s.tokens)) {
        p.backend.scale(view(p.s.x, 0, p.n * nEmbd), embdScale, p.n * nEmbd);
        return;
      }
      for (const s of p.segments) {
        if (s.tokens) p.backend.scale(view(p.s.x, s.r0 * nEmbd, s.nTokens * nEmbd), embdScale, s.nTokens * nEmbd);
      }
    },
    layer(p, il) {
      const L = layers[il];
      attentionBlock(p.backend, L.attn, hp, attnOpts[il], il, p, p.s);
      feedForwardBlock(p.backend, L.ffn, hp, p.n, p.s);
    },
    kvWindow(il) {
      return hp.swaLayers[il] ? hp.window : undefined;
    },
  };
}
