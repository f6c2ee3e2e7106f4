// The llama-family decoder (llama, mistral, qwen2, ...): weights and forward pass, written once.
// Architectures differ only in the ArchSpec they register (rope order, attention biases).
//
// Per layer: rmsnorm -> q,k,v (+bias) -> rope -> attention over the KV cache -> output -> residual
//            -> rmsnorm -> gate/up -> swiglu -> down -> residual.

import type { Backend, WeightTensor } from '../../kernels/backend.ts';
import type { RopeParams } from '../../kernels/ref/rope.ts';
import type { KVCache } from '../../engine/kv-cache.ts';
import { HearthError } from '../../util/errors.ts';
import type { DecoderHParams } from '../hparams.ts';
import { tensorName as tn } from '../tensor-names.ts';
import { matrix, optionalVector, vector, type TensorSource } from '../weights.ts';

export interface LayerWeights {
  attnNorm: Float32Array;
  wq: WeightTensor; wk: WeightTensor; wv: WeightTensor; wo: WeightTensor;
  bq?: Float32Array; bk?: Float32Array; bv?: Float32Array;
  ffnNorm: Float32Array;
  wGate: WeightTensor; wUp: WeightTensor; wDown: WeightTensor;
}

export interface DecoderWeights {
  tokEmbd: WeightTensor;
  outputNorm: Float32Array;
  /** The output projection; the token embedding itself when the model ties them. */
  output: WeightTensor;
  tiedOutput: boolean;
  ropeFreqs?: Float32Array;
  layers: LayerWeights[];
}

export function loadDecoderWeights(src: TensorSource, hp: DecoderHParams, attnBias: boolean): DecoderWeights {
  const { nEmbd, nVocab, nFF, nHead, nHeadKv, headDim } = hp;
  const qDim = nHead * headDim;
  const kvDim = nHeadKv * headDim;
  const tokEmbd = matrix(src, tn('token_embd', 'weight'), nEmbd, nVocab);
  const tied = !src.get(tn('output', 'weight'));
  const layers: LayerWeights[] = [];
  for (let il = 0; il < hp.nLayer; il++) {
    const bias = (base: 'attn_q' | 'attn_k' | 'attn_v', n: number) =>
      attnBias ? vector(src, tn(base, 'bias', il), n) : optionalVector(src, tn(base, 'bias', il), n);
    layers.push({
      attnNorm: vector(src, tn('attn_norm', 'weight', il), nEmbd),
      wq: matrix(src, tn('attn_q', 'weight', il), nEmbd, qDim),
      wk: matrix(src, tn('attn_k', 'weight', il), nEmbd, kvDim),
      wv: matrix(src, tn('attn_v', 'weight', il), nEmbd, kvDim),
      wo: matrix(src, tn('attn_output', 'weight', il), qDim, nEmbd),
      bq: bias('attn_q', qDim),
      bk: bias('attn_k', kvDim),
      bv: bias('attn_v', kvDim),
      ffnNorm: vector(src, tn('ffn_norm', 'weight', il), nEmbd),
      wGate: matrix(src, tn('ffn_gate', 'weight', il), nEmbd, nFF),
      wUp: matrix(src, tn('ffn_up', 'weight', il), nEmbd, nFF),
      wDown: matrix(src, tn('ffn_down', 'weight', il), nFF, nEmbd),
    });
  }
  return {
    tokEmbd,
    outputNorm: vector(src, tn('output_norm', 'weight'), nEmbd),
    output: tied ? tokEmbd : matrix(src, tn('output', 'weight'), nEmbd, nVocab),
    tiedOutput: tied,
    ropeFreqs: optionalVector(src, tn('rope_freqs', 'weight'), hp.rope.nRot / 2),
    layers,
  };
}

/** One sequence's share of a batch. */
export interface Segment {
  tokens: ArrayLike<number>;
  pos0: number;
  cache: KVCache;
}

/** Scratch buffers for a batch of up to nBatch tokens, reused across calls. */
class Scratch {
  readonly n: number;
  readonly x: Float32Array; readonly xb: Float32Array;
  readonly q: Float32Array; readonly k: Float32Array; readonly v: Float32Array; readonly att: Float32Array;
  readonly gate: Float32Array; readonly up: Float32Array;
  constructor(hp: DecoderHParams, n: number, alloc: (n: number) => Float32Array) {
    const qDim = hp.nHead * hp.headDim;
    const kvDim = hp.nHeadKv * hp.headDim;
    this.n = n;
    this.x = alloc(n * hp.nEmbd);          // [n, nEmbd] residual stream
    this.xb = alloc(n * Math.max(hp.nEmbd, qDim)); // [n, nEmbd] normed input / projection output
    this.q = alloc(n * qDim);               // [n, nHead, headDim]
    this.k = alloc(n * kvDim);              // [n, nHeadKv, headDim]
    this.v = alloc(n * kvDim);
    this.att = alloc(n * qDim);             // [n, nHead, headDim]
    this.gate = alloc(n * hp.nFF);          // [n, nFF]
    this.up = alloc(n * hp.nFF);
  }
}

export class DecoderForward {
  readonly hp: DecoderHParams;
  readonly w: DecoderWeights;
  readonly backend: Backend;
  private readonly rope: RopeParams;
  private scratch?: Scratch;

  constructor(hp: DecoderHParams, w: DecoderWeights, backend: Backend) {
    this.hp = hp;
    this.w = w;
    this.backend = backend;
    this.rope = { ...hp.rope, freqFactors: w.ropeFreqs };
  }

  private scratchFor(n: number): Scratch {
    if (!this.scratch || this.scratch.n < n) this.scratch = new Scratch(this.hp, n, (k) => this.backend.allocF32(k));
    return this.scratch;
  }

  /**
   * Run tokens at positions pos0.. through the model, appending their K/V to the cache.
   * Returns logits [nOut, nVocab] for the last token (default) or for every token (`allLogits`).
   */
  forward(tokens: ArrayLike<number>, pos0: number, cache: KVCache, allLogits = false): Float32Array {
    return this.forwardBatch([{ tokens, pos0, cache }], allLogits);
  }

  /**
   * Several sequences in one pass (continuous batching): their tokens share every matmul, while RoPE
   * positions, the KV cache and attention stay per sequence. Returns logits [nOut, nVocab]: per segment, in
   * order, its last token (default) or every token (`allLogits`). With `hidden`, returns the final normed
   * hidden states [nOut, nEmbd] instead of logits (embeddings).
   */
  forwardBatch(segments: readonly Segment[], allLogits = false, hidden = false): Float32Array {
    const hp = this.hp;
    const b = this.backend;
    const { nEmbd, nHead, nHeadKv, headDim, nFF } = hp;
    const qDim = nHead * headDim;
    const kvDim = nHeadKv * headDim;
    const n = segments.reduce((sum, g) => sum + g.tokens.length, 0);
    if (n === 0) throw new HearthError('invalid_argument', 'forward: no tokens');
    for (const g of segments) {
      if (g.tokens.length === 0) throw new HearthError('invalid_argument', 'forward: a sequence has no tokens');
      if (g.pos0 + g.tokens.length > g.cache.nCtx) {
        throw new HearthError('context_length_exceeded', `${g.pos0 + g.tokens.length} tokens do not fit in the context of ${g.cache.nCtx}`);
      }
    }
    const s = this.scratchFor(n);
    const positions = new Int32Array(n);
    const starts: number[] = [];
    let row = 0;
    for (const g of segments) {
      starts.push(row);
      for (let i = 0; i < g.tokens.length; i++) positions[row++] = g.pos0 + i;
    }

    // token embeddings
    row = 0;
    for (const g of segments) {
      for (let i = 0; i < g.tokens.length; i++, row++) {
        const id = g.tokens[i];
        if (!Number.isInteger(id) || id < 0 || id >= hp.nVocab) {
          throw new HearthError('invalid_argument', `token id ${id} is outside the vocabulary (0..${hp.nVocab - 1})`);
        }
        b.getRow(this.w.tokEmbd, id, s.x.subarray(row * nEmbd, (row + 1) * nEmbd));
      }
    }

    for (let il = 0; il < hp.nLayer; il++) {
      const L = this.w.layers[il];
      // attention block
      b.rmsNorm(s.x, L.attnNorm, hp.normEps, nEmbd, n, s.xb);
      b.matmul(L.wq, s.xb, n, s.q);
      b.matmul(L.wk, s.xb, n, s.k);
      b.matmul(L.wv, s.xb, n, s.v);
      if (L.bq) b.addBias(s.q, L.bq, qDim, n);
      if (L.bk) b.addBias(s.k, L.bk, kvDim, n);
      if (L.bv) b.addBias(s.v, L.bv, kvDim, n);
      b.rope(s.q, n, nHead, headDim, positions, this.rope);
      b.rope(s.k, n, nHeadKv, headDim, positions, this.rope);
      segments.forEach((g, gi) => {
        const r0 = starts[gi];
        const r1 = r0 + g.tokens.length;
        const attnShape = { nHead, nHeadKv, headDim, scale: 1 / Math.sqrt(headDim), f16: g.cache.f16 };
        g.cache.write(il, g.pos0, s.k.subarray(r0 * kvDim, r1 * kvDim), s.v.subarray(r0 * kvDim, r1 * kvDim), r1 - r0);
        b.attention(s.q.subarray(r0 * qDim, r1 * qDim), g.cache.k[il], g.cache.v[il], r1 - r0, g.pos0, attnShape,
          s.att.subarray(r0 * qDim, r1 * qDim));
      });
      b.matmul(L.wo, s.att, n, s.xb);
      b.add(s.x, s.xb, n * nEmbd);
      // feed-forward block
      b.rmsNorm(s.x, L.ffnNorm, hp.normEps, nEmbd, n, s.xb);
      b.matmul(L.wGate, s.xb, n, s.gate);
      b.matmul(L.wUp, s.xb, n, s.up);
      b.swiglu(s.gate, s.up, n * nFF);
      b.matmul(L.wDown, s.gate, n, s.xb);
      b.add(s.x, s.xb, n * nEmbd);
    }

    // output head, for each sequence's last token only unless every position is wanted
    const rows: number[] = [];
    segments.forEach((g, gi) => {
      const last = starts[gi] + g.tokens.length - 1;
      for (let r = allLogits ? starts[gi] : last; r <= last; r++) rows.push(r);
    });
    const nOut = rows.length;
    const normed = s.xb.subarray(0, nOut * nEmbd);
    rows.forEach((r, i) => b.rmsNorm(s.x.subarray(r * nEmbd, (r + 1) * nEmbd), this.w.outputNorm, hp.normEps, nEmbd, 1,
      normed.subarray(i * nEmbd, (i + 1) * nEmbd)));
    if (hidden) return normed.slice();
    const logits = new Float32Array(nOut * hp.nVocab);
    b.matmul(this.w.output, normed, nOut, logits);
    return logits;
  }
}
