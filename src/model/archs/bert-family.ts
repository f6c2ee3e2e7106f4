// The BERT-family encoders (llama.cpp's src/models/bert.cpp, which bert and nomic-bert share): post-norm layers
// over bidirectional attention, no KV cache across calls, no output norm (the last layer ends normed), and the
// pooling of {arch}.pooling_type (llama.cpp's build_pooling, run by decoder.ts embedBatch). The architecture
// files (archs/bert.ts, archs/nomic-bert.ts) choose the options.
//
// Input:     x = token rows (+ token_types row 0, "sentence A") (+ position rows: bert) -> LayerNorm (+bias)
// Per layer: h = LayerNorm(attention(x) + x)                      attn_output_norm
//            x = LayerNorm(ffn(h) + h)                            layer_output_norm
// with attention's Q, K, V (+bias) -> RoPE (nomic-bert) -> softmax(QK^T / sqrt(headDim)) V over every token of
// the input -> output (+bias), and the FFN GELU (bert: up + bias -> gelu -> down + bias) or SwiGLU (nomic-bert).
//
// The additions keep llama.cpp's operand order (tok + type, then pos + that; attn + x; ffn + h): f32 addition
// commutes exactly, so each sum is the same float as there.

import { view } from '../../kernels/backend.ts';
import type { GGUFMetadata } from '../../gguf/metadata.ts';
import { HearthError } from '../../util/errors.ts';
import {
  norm, selfAttention, feedForward, type AttentionBlockOptions, type AttentionWeights, type FeedForwardWeights, type NormWeights,
} from '../blocks.ts';
import { checkCommonHParams, readPooling, type DecoderHParams } from '../hparams.ts';
import type { RopeOrder } from '../../kernels/types.ts';
import { type ClassifierHead, type DecoderModel, type ModelWeights, type Pooling, type TensorDecl, type TensorTable, type WeightSet } from './types.ts';

export interface EncoderHParams extends DecoderHParams {
  /** {arch}.pooling_type; absent from the file: undefined (llama.cpp's NONE). */
  pooling: Pooling | undefined;
  /** tokenizer.ggml.token_type_count: rows of token_types. */
  nTokenTypes: number;
  /** Scores of a classification head ({arch}.classifier.output_labels; 1 without labels, as llama.cpp). */
  nClsOut: number;
}

export interface BertFamilyOptions {
  /** bert: learned absolute positions (position_embd); nomic-bert: NeoX RoPE instead. */
  positions: 'learned' | 'rope';
  /** bert: GELU with biases; nomic-bert: SwiGLU (ffn_gate, ffn_up, ffn_down) without. */
  ffn: 'gelu' | 'swiglu';
}

/** The hyper-parameters of an encoder file, from `{arch}.*` (and the vocabulary's token type count). */
export function readEncoderHParams(m: GGUFMetadata, arch: string, nVocab: number, ropeOrder: RopeOrder): EncoderHParams {
  const k = (s: string) => `${arch}.${s}`;
  const bad = (msg: string) => new HearthError('model_invalid', `${m.source}: ${msg}`);
  const nEmbd = m.getNumber(k('embedding_length'));
  const nHead = m.getNumber(k('attention.head_count'));
  const nHeadKv = m.getNumber(k('attention.head_count_kv'), nHead);
  const headDim = nEmbd / nHead;
  const nCtxTrain = m.getNumber(k('context_length'));
  const pooling = readPooling(m, arch);
  const labels = m.getStrings(k('classifier.output_labels'), undefined);
  const hp: EncoderHParams = {
    arch,
    nVocab,
    nCtxTrain,
    nEmbd,
    nLayer: m.getNumber(k('block_count')),
    nFF: m.getNumber(k('feed_forward_length')),
    nHead,
    nHeadKv,
    headDim,
    normEps: m.getNumber(k('attention.layer_norm_epsilon')),
    rope: {
      order: ropeOrder,
      nRot: m.getNumber(k('rope.dimension_count'), headDim),
      freqBase: m.getNumber(k('rope.freq_base'), 10000),
      freqScale: 1,
      scalingType: 'none',
      nCtxOrig: nCtxTrain,
      extFactor: 0,
      attnFactor: 1,
      betaFast: 32,
      betaSlow: 1,
    },
    pooling,
    nTokenTypes: m.getNumber('tokenizer.ggml.token_type_count', 0),
    nClsOut: labels?.length || 1,
  };
  for (const [name, v] of Object.entries({ nEmbd, nHead, headDim, nLayer: hp.nLayer, nFF: hp.nFF, nCtxTrain })) {
    if (!Number.isInteger(v) || v <= 0) throw bad(`hyper-parameter ${name} = ${v} must be a positive integer`);
  }
  if (nHeadKv !== nHead) throw bad(`an encoder is multi-head: head_count_kv ${nHeadKv} must equal head_count ${nHead}`);
  if (m.getBool(k('attention.causal'), false)) throw bad(`${k('attention.causal')} is true: a causal ${arch} is not supported`);
  if (hp.nTokenTypes < 1) throw bad(`${arch} needs tokenizer.ggml.token_type_count (its token_types rows)`);
  checkCommonHParams(m, arch, hp);
  return hp;
}

type H = EncoderHParams;
const e = (hp: H) => hp.nEmbd;
const opt = (d: Omit<TensorDecl<H>, 'optional'>): TensorDecl<H> => ({ ...d, optional: true });
const vec = (base: string, suffix: 'weight' | 'bias', n: (hp: H) => number): TensorDecl<H> => ({ base, suffix, kind: 'vector', shape: (hp) => [n(hp)] });

/** The tensors of a bert-family file (create_tensor in llama_model_bert / llama_model_nomic_bert::load_arch_tensors). */
export function bertFamilyTensors(o: BertFamilyOptions): TensorTable<H> {
  const qkv = (hp: H) => [e(hp), e(hp), e(hp)];
  const global: TensorDecl<H>[] = [
    { base: 'token_embd', kind: 'matrix', shape: (hp) => [e(hp), hp.nVocab] },
    opt({ base: 'token_types', kind: 'matrix', shape: (hp) => [e(hp), hp.nTokenTypes] }),
    vec('token_embd_norm', 'weight', e),
    vec('token_embd_norm', 'bias', e),
    opt({ base: 'cls', kind: 'matrix', shape: (hp) => [e(hp), e(hp)] }),
    opt(vec('cls', 'bias', e)),
    opt({ base: 'cls.output', kind: 'matrix', shape: (hp) => [e(hp), hp.nClsOut] }),
    opt(vec('cls.output', 'bias', (hp) => hp.nClsOut)),
  ];
  if (o.positions === 'learned') global.push({ base: 'position_embd', kind: 'matrix', shape: (hp) => [e(hp), hp.nCtxTrain] });
  const layer: TensorDecl<H>[] = [
    // fused (nomic-bert) or separate (bert), as create_tensor_qkv accepts either
    opt({ base: 'attn_qkv', kind: 'matrix', shape: (hp) => [e(hp), 3 * e(hp)], split: qkv }),
    opt(vec('attn_qkv', 'bias', (hp) => 3 * e(hp))),
    ...['attn_q', 'attn_k', 'attn_v'].flatMap((base) => [
      opt({ base, kind: 'matrix', shape: (hp) => [e(hp), e(hp)] }),
      opt(vec(base, 'bias', e)),
    ]),
    { base: 'attn_output', kind: 'matrix', shape: (hp) => [e(hp), e(hp)] },
    opt(vec('attn_output', 'bias', e)),
    vec('attn_output_norm', 'weight', e),
    vec('attn_output_norm', 'bias', e),
    { base: 'ffn_up', kind: 'matrix', shape: (hp) => [e(hp), hp.nFF] },
    opt(vec('ffn_up', 'bias', (hp) => hp.nFF)),
    { base: 'ffn_down', kind: 'matrix', shape: (hp) => [hp.nFF, e(hp)] },
    opt(vec('ffn_down', 'bias', e)),
    vec('layer_output_norm', 'weight', e),
    vec('layer_output_norm', 'bias', e),
  ];
  if (o.ffn === 'swiglu') layer.push({ base: 'ffn_gate', kind: 'matrix', shape: (hp) => [e(hp), hp.nFF] });
  return { global, layer };
}

const layerNorm = (w: WeightSet, base: string): NormWeights => ({ kind: 'layer', weight: w.vector(base), bias: w.vector(base, 'bias') });

/** Q, K, V and their biases, from the fused tensor when the file has it. */
function qkv(hp: H, L: WeightSet): Pick<AttentionWeights, 'wq' | 'wk' | 'wv' | 'bq' | 'bk' | 'bv'> {
  const fused = L.optionalMatrices('attn_qkv');
  if (!fused) {
    return {
      wq: L.matrix('attn_q'), wk: L.matrix('attn_k'), wv: L.matrix('attn_v'),
      bq: L.optionalVector('attn_q', 'bias'), bk: L.optionalVector('attn_k', 'bias'), bv: L.optionalVector('attn_v', 'bias'),
    };
  }
  const [wq, wk, wv] = fused;
  const b = L.optionalVector('attn_qkv', 'bias');
  if (!b) return { wq, wk, wv };
  const n = hp.nEmbd;
  return { wq, wk, wv, bq: view(b, 0, n), bk: view(b, n, n), bv: view(b, 2 * n, n) };
}

/** The classification head of a reranker (cls, cls.output), or undefined when the file has neither. */
function classifier(hp: H, g: WeightSet): ClassifierHead | undefined {
  const dense = g.optionalMatrix('cls');
  const out = g.optionalMatrix('cls.output');
  if (!dense && !out) return undefined;
  return {
    dense, denseBias: g.optionalVector('cls', 'bias'), out, outBias: g.optionalVector('cls.output', 'bias'),
    nOut: out ? out.rows : hp.nEmbd,
  };
}

/** The encoder forward over weights loaded from bertFamilyTensors. */
export function buildBertFamily(o: BertFamilyOptions, hp: H, w: ModelWeights): DecoderModel {
  const g = w.global;
  const tokEmbd = g.matrix('token_embd');
  const tokenTypes = g.optionalMatrix('token_types');
  const posEmbd = o.positions === 'learned' ? g.matrix('position_embd') : undefined;
  const inputNorm = layerNorm(g, 'token_embd_norm');
  // the norms sit after the residual adds here (post-norm); the blocks' own norm fields are unused
  const none: NormWeights = { kind: 'layer' };
  const layers = w.layers.map((L) => {
    const attn: AttentionWeights = { norm: none, ...qkv(hp, L), wo: L.matrix('attn_output'), bo: L.optionalVector('attn_output', 'bias') };
    const ffn: FeedForwardWeights = o.ffn === 'gelu'
      ? { norm: none, kind: 'gelu', wUp: L.matrix('ffn_up'), bUp: L.optionalVector('ffn_up', 'bias'), wDown: L.matrix('ffn_down'), bDown: L.optionalVector('ffn_down', 'bias') }
      : {
        norm: none, kind: 'swiglu', wGate: L.matrix('ffn_gate'), wUp: L.matrix('ffn_up'), wDown: L.matrix('ffn_down'),
        bUp: L.optionalVector('ffn_up', 'bias'), bDown: L.optionalVector('ffn_down', 'bias'),
      };
    return { attn, ffn, attnNorm: layerNorm(L, 'attn_output_norm'), outNorm: layerNorm(L, 'layer_output_norm') };
  });
  const attnOpts: AttentionBlockOptions = { rope: o.positions === 'rope' ? hp.rope : undefined, mask: { causal: false } };
  return {
    dims: hp,
    nLayer: hp.nLayer,
    nVocab: hp.nVocab,
    tokEmbd,
    // an encoder has no logits head; the skeleton reads the hidden states (outputNorm absent)
    output: tokEmbd,
    tiedOutput: true,
    layers,
    pooling: hp.pooling,
    bidirectional: true,
    classifier: classifier(hp, g),
    input(p) {
      const { backend: b, n, s } = p;
      const nEmbd = hp.nEmbd;
      const h = s.extra('encoderIn', n * nEmbd);
      if (tokenTypes) {
        // every token is "sentence A": row 0 of token_types
        const type0 = s.extra('tokenType0', nEmbd);
        b.getRows(tokenTypes, Int32Array.of(0), type0);
        b.addBias(s.x, type0, nEmbd, n);
      }
      let sum = s.x;
      if (posEmbd) {
        b.getRows(posEmbd, p.positions, h);
        b.add(h, s.x, n * nEmbd);
        sum = h;
      }
      norm(b, inputNorm, hp.normEps, sum, nEmbd, n, sum === h ? s.x : h);
      if (sum !== h) {
        // the normed rows went to h: x = h (x * 0 + h)
        b.scale(s.x, 0, n * nEmbd);
        b.add(s.x, h, n * nEmbd);
      }
    },
    layer(p, il) {
      const { backend: b, n, s } = p;
      const L = layers[il];
      const nEmbd = hp.nEmbd;
      const h = s.extra('encoderIn', n * nEmbd);
      selfAttention(b, L.attn, hp, attnOpts, il, p, s, s.x);  // xb = attention(x)
      b.add(s.xb, s.x, n * nEmbd);                           // xb = attention(x) + x
      norm(b, L.attnNorm, hp.normEps, s.xb, nEmbd, n, h);     // h = LayerNorm(xb)
      feedForward(b, L.ffn, hp, n, s, h);                      // xb = ffn(h)
      b.add(s.xb, h, n * nEmbd);                               // xb = ffn(h) + h
      norm(b, L.outNorm, hp.normEps, s.xb, nEmbd, n, s.x);     // x = LayerNorm(xb)
    },
  };
}
