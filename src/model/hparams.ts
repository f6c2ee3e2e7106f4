// Hyper-parameters of llama-family decoder models, read from `{arch}.*` metadata keys.

import { HearthError } from '../util/errors.ts';
import type { GGUFMetadata } from '../gguf/metadata.ts';
import type { RopeOrder } from '../kernels/types.ts';
import { POOLING_BY_ID, type Pooling } from './archs/types.ts';

export interface DecoderHParams {
  arch: string;
  nVocab: number;
  nCtxTrain: number;
  nEmbd: number;
  nLayer: number;
  nFF: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  normEps: number;
  rope: {
    order: RopeOrder;
    nRot: number;
    freqBase: number;
    freqScale: number;
    scalingType: 'none' | 'linear' | 'yarn';
    nCtxOrig: number;
    extFactor: number;
    attnFactor: number;
    betaFast: number;
    betaSlow: number;
  };
  /** `{arch}.pooling_type` when the file has it (an embedding model, e.g. Qwen3-Embedding's 'last'). */
  pooling?: Pooling;
}

/** `{arch}.pooling_type` as llama.cpp reads it; undefined when the file does not say. */
export function readPooling(m: GGUFMetadata, arch: string): Pooling | undefined {
  const id = m.getNumber(`${arch}.pooling_type`, -1);
  if (id === -1) return undefined;
  const pooling = POOLING_BY_ID[id];
  if (!pooling) {
    throw new HearthError('model_invalid', `${m.source}: ${arch}.pooling_type ${id} is not one of llama.cpp's (0 none, 1 mean, 2 cls, 3 last, 4 rank)`);
  }
  return pooling;
}

export function readDecoderHParams(m: GGUFMetadata, arch: string, ropeOrder: RopeOrder, nVocab: number): DecoderHParams {
  const k = (s: string) => `${arch}.${s}`;
  const nEmbd = m.getNumber(k('embedding_length'));
  const nHead = m.getNumber(k('attention.head_count'));
  const nHeadKv = m.getNumber(k('attention.head_count_kv'), nHead);
  const headDim = m.getNumber(k('attention.key_length'), nEmbd / nHead);
  const nCtxTrain = m.getNumber(k('context_length'));
  const scalingType = m.getString(k('rope.scaling.type'), 'none');
  if (scalingType !== 'none' && scalingType !== 'linear' && scalingType !== 'yarn') {
    throw new HearthError('model_invalid', `${m.source}: rope scaling type "${scalingType}" is not supported (none, linear, yarn)`);
  }
  const factor = m.getNumber(k('rope.scaling.factor'), 0);
  const freqScale = scalingType === 'none' || factor === 0 ? 1 : 1 / factor;
  const hp: DecoderHParams = {
    arch,
    nVocab,
    nCtxTrain,
    nEmbd,
    nLayer: m.getNumber(k('block_count')),
    nFF: m.getNumber(k('feed_forward_length')),
    nHead,
    nHeadKv,
    headDim,
    normEps: m.getNumber(k('attention.layer_norm_rms_epsilon')),
    rope: {
      order: ropeOrder,
      nRot: m.getNumber(k('rope.dimension_count'), headDim),
      freqBase: m.getNumber(k('rope.freq_base'), 10000),
      freqScale,
      scalingType,
      nCtxOrig: m.getNumber(k('rope.scaling.original_context_length'), nCtxTrain),
      extFactor: scalingType === 'yarn' ? 1 : 0,
      attnFactor: m.getNumber(k('rope.scaling.attn_factor'), 1),
      betaFast: m.getNumber(k('rope.scaling.yarn_beta_fast'), 32),
      betaSlow: m.getNumber(k('rope.scaling.yarn_beta_slow'), 1),
    },
  };
  const bad = (msg: string) => new HearthError('model_invalid', `${m.source}: ${msg}`);
  const pooling = readPooling(m, arch);
  if (pooling) hp.pooling = pooling;
  for (const [name, v] of Object.entries({ nEmbd, nHead, nHeadKv, headDim, nLayer: hp.nLayer, nFF: hp.nFF })) {
    if (!Number.isInteger(v) || v <= 0) throw bad(`hyper-parameter ${name} = ${v} must be a positive integer`);
  }
  if (nHead % nHeadKv !== 0) throw bad(`head_count ${nHead} is not a multiple of head_count_kv ${nHeadKv}`);
  checkCommonHParams(m, arch, hp);
  return hp;
}

/**
 * The checks every architecture's hyper-parameters pass, each naming its key and value: counts are positive
 * integers, rope dims even, positive and within the head, and the real-valued ones finite and in range. (Shapes
 * against the tensors are checked as the weights load.)
 */
export function checkCommonHParams(m: GGUFMetadata, arch: string, hp: Pick<DecoderHParams, 'nVocab' | 'nCtxTrain' | 'headDim' | 'normEps' | 'rope'>): void {
  const bad = (key: string, v: number, rule: string) =>
    new HearthError('model_invalid', `${m.source}: ${key} = ${v} ${rule}`);
  const positiveInt = (key: string, v: number) => {
    if (!Number.isSafeInteger(v) || v <= 0) throw bad(key, v, 'must be a positive integer');
  };
  positiveInt('vocabulary size (tokenizer.ggml.tokens)', hp.nVocab);
  positiveInt(`${arch}.context_length`, hp.nCtxTrain);
  const r = hp.rope;
  if (!Number.isInteger(r.nRot) || r.nRot <= 0 || r.nRot % 2 !== 0 || r.nRot > hp.headDim) {
    throw bad(`${arch}.rope.dimension_count`, r.nRot, `must be a positive even integer <= the head dimension ${hp.headDim}`);
  }
  positiveInt(`${arch}.rope.scaling.original_context_length`, r.nCtxOrig);
  const positive = (key: string, v: number) => {
    if (!Number.isFinite(v) || v <= 0) throw bad(key, v, 'must be a positive finite number');
  };
  if (!(hp.normEps > 0 && hp.normEps < 1)) throw bad(`${arch}.attention.layer_norm(_rms)_epsilon`, hp.normEps, 'must be in (0, 1)');
  positive(`${arch}.rope.freq_base`, r.freqBase);
  positive(`${arch}.rope.scaling.factor (as its inverse)`, r.freqScale);
  positive(`${arch}.rope.scaling.attn_factor`, r.attnFactor);
  if (!Number.isFinite(r.betaFast) || !Number.isFinite(r.betaSlow)) throw bad(`${arch}.rope.scaling.yarn_beta_fast/slow`, r.betaFast, 'must be finite');
}
