// The llama-family decoder (llama, mistral, qwen2, ...): weights and forward pass, written once for every backend
// from the shared blocks of ../blocks.ts. Architectures differ only in the ArchSpec they register (rope order,
// attention biases).
//
// Per layer: rmsnorm -> q,k,v (+bias) -> rope -> attention over the KV cache -> output -> residual
//            -> rmsnorm -> gate/up -> swiglu -> down -> residual.
//
// A pass records ops and then reads its output tensor. The pass is a generator that yields each tensor it must
// read: forwardBatch drives it synchronously (ref, cpu), forwardBatchAsync awaits each read (webgpu, whose reads
// complete later). Either way the same ops run in the same order.

import { view, type Backend, type Tensor, type WeightTensor } from '../../kernels/backend.ts';
import type { RopeParams } from '../../kernels/ref/rope.ts';
import type { KVCache } from '../kv-cache.ts';
import { HearthError } from '../../util/errors.ts';
import type { DecoderHParams } from '../hparams.ts';
import { tensorName as tn } from '../tensor-names.ts';
import { hostVector, matrix, optionalVector, vector, type TensorSource } from '../weights.ts';
import { Activations, attentionBlock, embedTokens, feedForwardBlock, outputNorm, type AttentionWeights, type BatchSegment,
  type FeedForwardWeights } from '../blocks.ts';

export interface LayerWeights {
  attn: AttentionWeights;
  ffn: FeedForwardWeights;
}

export interface DecoderWeights {
  tokEmbd: WeightTensor;
  outputNorm: Tensor;
  /** The output projection; the token embedding itself when the model ties them. */
  output: WeightTensor;
  tiedOutput: boolean;
  ropeFreqs?: Float32Array;
  layers: LayerWeights[];
}

export function loadDecoderWeights(src: TensorSource, hp: DecoderHParams, attnBias: boolean, backend: Backend): DecoderWeights {
  const { nEmbd, nVocab, nFF, nHead, nHeadKv, headDim } = hp;
  const qDim = nHead * headDim;
  const kvDim = nHeadKv * headDim;
  const tokEmbd = matrix(src, tn('token_embd', 'weight'), nEmbd, nVocab, backend);
  const tied = !src.get(tn('output', 'weight'));
  const layers: LayerWeights[] = [];
  for (let il = 0; il < hp.nLayer; il++) {
    const bias = (base: 'attn_q' | 'attn_k' | 'attn_v', n: number) =>
      attnBias ? vector(src, tn(base, 'bias', il), n, backend) : optionalVector(src, tn(base, 'bias', il), n, backend);
    const attn: AttentionWeights = {
      norm: vector(src, tn('attn_norm', 'weight', il), nEmbd, backend),
      wq: matrix(src, tn('attn_q', 'weight', il), nEmbd, qDim, backend),
      wk: matrix(src, tn('attn_k', 'weight', il), nEmbd, kvDim, backend),
      wv: matrix(src, tn('attn_v', 'weight', il), nEmbd, kvDim, backend),
      wo: matrix(src, tn('attn_output', 'weight', il), qDim, nEmbd, backend),
      bq: bias('attn_q', qDim),
      bk: bias('attn_k', kvDim),
      bv: bias('attn_v', kvDim),
    };
    const ffn: FeedForwardWeights = {
      norm: vector(src, tn('ffn_norm', 'weight', il), nEmbd, backend),
      wGate: matrix(src, tn('ffn_gate', 'weight', il), nEmbd, nFF, backend),
      wUp: matrix(src, tn('ffn_up', 'weight', il), nEmbd, nFF, backend),
      wDown: matrix(src, tn('ffn_down', 'weight', il), nFF, nEmbd, backend),
    };
    layers.push({ attn, ffn });
  }
  return {
    tokEmbd,
    outputNorm: vector(src, tn('output_norm', 'weight'), nEmbd, backend),
    output: tied ? tokEmbd : matrix(src, tn('output', 'weight'), nEmbd, nVocab, backend),
    tiedOutput: tied,
    ropeFreqs: src.get(tn('rope_freqs', 'weight')) ? hostVector(src, tn('rope_freqs', 'weight'), hp.rope.nRot / 2) : undefined,
    layers,
  };
}

/** One sequence's share of a batch. */
export interface Segment {
  tokens: ArrayLike<number>;
  pos0: number;
  cache: KVCache;
}

/** A pass: yields each tensor to read and receives its values; returns the output. */
type Pass = Generator<Tensor, Float32Array, Float32Array>;

/** The most logits one read brings back (keeps the logits buffer bounded for long all-logits batches). */
const LOGITS_CHUNK_BYTES = 64 << 20;

export class DecoderForward {
  readonly hp: DecoderHParams;
  readonly w: DecoderWeights;
  readonly backend: Backend;
  private readonly rope: RopeParams;
  private acts?: Activations;
  private logits?: Tensor;
  private disposed = false;

  constructor(hp: DecoderHParams, w: DecoderWeights, backend: Backend) {
    this.hp = hp;
    this.w = w;
    this.backend = backend;
    this.rope = { ...hp.rope, freqFactors: w.ropeFreqs };
  }

  private activations(n: number): Activations {
    if (!this.acts || this.acts.n < n) {
      this.acts?.dispose();
      this.acts = undefined;
      this.acts = new Activations(this.backend, this.hp, n);
    }
    return this.acts;
  }

  private logitsTensor(rows: number): Tensor {
    const n = rows * this.hp.nVocab;
    if (!this.logits || this.logits.length < n) {
      if (this.logits) this.backend.free(this.logits);
      this.logits = undefined;
      this.logits = this.backend.alloc(n, 'f32', 'scratch');
    }
    return view(this.logits, 0, n);
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
   * hidden states [nOut, nEmbd] instead of logits (embeddings). Synchronous backends only.
   */
  forwardBatch(segments: readonly Segment[], allLogits = false, hidden = false): Float32Array {
    const pass = this.pass(segments, allLogits, hidden);
    for (let r = pass.next(); ; ) {
      if (r.done) return r.value;
      const got = this.backend.read(r.value);
      if (got instanceof Promise) {
        void got.catch(() => {});
        throw new HearthError('invalid_argument', `the ${this.backend.name} backend completes asynchronously: use forwardBatchAsync`);
      }
      r = pass.next(got);
    }
  }

  forwardAsync(tokens: ArrayLike<number>, pos0: number, cache: KVCache, allLogits = false): Promise<Float32Array> {
    return this.forwardBatchAsync([{ tokens, pos0, cache }], allLogits);
  }

  /** forwardBatch for any backend: each read is awaited. */
  async forwardBatchAsync(segments: readonly Segment[], allLogits = false, hidden = false): Promise<Float32Array> {
    const pass = this.pass(segments, allLogits, hidden);
    for (let r = pass.next(); ; ) {
      if (r.done) return r.value;
      const b = this.backend;
      r = pass.next(await (b.readAsync ? b.readAsync(r.value) : b.read(r.value)));
    }
  }

  private *pass(segments: readonly Segment[], allLogits: boolean, hidden: boolean): Pass {
    if (this.disposed) throw new HearthError('invalid_argument', 'this model has been disposed');
    const hp = this.hp;
    const b = this.backend;
    const n = segments.reduce((sum, g) => sum + g.tokens.length, 0);
    if (n === 0) throw new HearthError('invalid_argument', 'forward: no tokens');
    const ids = new Int32Array(n);
    const positions = new Int32Array(n);
    const batch: BatchSegment[] = [];
    let row = 0;
    for (const g of segments) {
      if (g.tokens.length === 0) throw new HearthError('invalid_argument', 'forward: a sequence has no tokens');
      if (g.cache.disposed) throw new HearthError('invalid_argument', 'forward: this KV cache has been disposed');
      if (g.cache.backend !== b) throw new HearthError('invalid_argument', 'forward: the KV cache belongs to another backend');
      if (g.pos0 + g.tokens.length > g.cache.nCtx) {
        throw new HearthError('context_length_exceeded', `${g.pos0 + g.tokens.length} tokens do not fit in the context of ${g.cache.nCtx}`);
      }
      batch.push({ r0: row, nTokens: g.tokens.length, pos0: g.pos0, cache: g.cache });
      for (let i = 0; i < g.tokens.length; i++, row++) {
        const id = g.tokens[i];
        if (!Number.isInteger(id) || id < 0 || id >= hp.nVocab) {
          throw new HearthError('invalid_argument', `token id ${id} is outside the vocabulary (0..${hp.nVocab - 1})`);
        }
        ids[row] = id;
        positions[row] = g.pos0 + i;
      }
    }
    const s = this.activations(n);

    embedTokens(b, this.w.tokEmbd, ids, s);
    for (let il = 0; il < hp.nLayer; il++) {
      const L = this.w.layers[il];
      attentionBlock(b, L.attn, hp, this.rope, il, batch, positions, n, s);
      feedForwardBlock(b, L.ffn, hp, n, s);
    }

    // output head, for each sequence's last token only unless every position is wanted
    const rows: number[] = [];
    for (const g of batch) {
      const last = g.r0 + g.nTokens - 1;
      for (let r = allLogits ? g.r0 : last; r <= last; r++) rows.push(r);
    }
    const nOut = rows.length;
    const normed = outputNorm(b, this.w.outputNorm, hp, rows, s);
    if (hidden) return yield normed;
    const step = Math.max(1, Math.min(nOut, Math.floor(LOGITS_CHUNK_BYTES / (hp.nVocab * 4))));
    if (step === nOut) {
      const logits = this.logitsTensor(nOut);
      b.matmul(this.w.output, normed, nOut, logits);
      return yield logits;
    }
    const out = new Float32Array(nOut * hp.nVocab);
    for (let r = 0; r < nOut; r += step) {
      const k = Math.min(step, nOut - r);
      const logits = this.logitsTensor(k);
      b.matmul(this.w.output, view(normed, r * hp.nEmbd, k * hp.nEmbd), k, logits);
      out.set(yield logits, r * hp.nVocab);
    }
    return out;
  }

  /** Free the activation buffers; the forward cannot run afterwards. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.acts?.dispose();
    this.acts = undefined;
    if (this.logits) this.backend.free(this.logits);
    this.logits = undefined;
  }
}
