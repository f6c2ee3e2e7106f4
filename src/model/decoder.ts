// The decoder skeleton every architecture runs: it turns segments (token ids or embedding rows, per sequence)
// into a batch, runs the layers an architecture built (archs/types.ts DecoderModel) and the output head, for
// every backend.
//
// A pass records ops and then reads its output tensor. The pass is a generator that yields each tensor it must
// read: forwardBatch drives it synchronously (ref, cpu), forwardBatchAsync awaits each read (webgpu, whose reads
// complete later). Either way the same ops run in the same order.

import { view, type Backend, type Tensor } from '../kernels/backend.ts';
import type { KVCache } from './kv-cache.ts';
import { HearthError } from '../util/errors.ts';
import { Activations, embedTokens, outputNorm, type BatchSegment } from './blocks.ts';
import type { DecoderModel, LayerPass, Pooling } from './archs/types.ts';

/**
 * One sequence's share of a batch: token ids, or (vision, tests) embedding rows [n, nEmbd] fed to the first layer
 * in place of the token-embedding rows.
 */
export type Segment =
  | { tokens: ArrayLike<number>; embeddings?: undefined; pos0: number; cache: KVCache }
  | { embeddings: Float32Array; tokens?: undefined; pos0: number; cache: KVCache };

/** Rows of a segment. */
function rowsOf(g: Segment, nEmbd: number): number {
  if (g.tokens) return g.tokens.length;
  if (g.embeddings.length % nEmbd !== 0) {
    throw new HearthError('invalid_argument', `forward: ${g.embeddings.length} embedding values are not whole rows of ${nEmbd}`);
  }
  return g.embeddings.length / nEmbd;
}

/** A pass: yields each tensor to read and receives its values; returns the output. */
type Pass = Generator<Tensor, Float32Array, Float32Array>;

/** Which rows of each sequence reach the output: its last (generation), every one, or its first (CLS pooling). */
type OutputRows = 'last' | 'all' | 'first';

/** A pass with several outputs (embeddings: one per sequence). */
type MultiPass = Generator<Tensor, Float32Array[], Float32Array>;

/** The most logits one read brings back (keeps the logits buffer bounded for long all-logits batches). */
const LOGITS_CHUNK_BYTES = 64 << 20;

export class DecoderForward {
  readonly model: DecoderModel;
  readonly backend: Backend;
  private acts?: Activations;
  private logits?: Tensor;
  private disposed = false;

  /** The built model, weights by layer included (tests look at them). */
  get w(): DecoderModel {
    return this.model;
  }

  constructor(model: DecoderModel, backend: Backend) {
    this.model = model;
    this.backend = backend;
  }

  private activations(n: number): Activations {
    if (!this.acts || this.acts.n < n) {
      this.acts?.dispose();
      this.acts = undefined;
      this.acts = new Activations(this.backend, this.model.dims, n);
    }
    return this.acts;
  }

  private logitsTensor(rows: number): Tensor {
    const n = rows * this.model.nVocab;
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
    return this.drive(this.pass(segments, allLogits ? 'all' : 'last', hidden));
  }

  /** Runs a pass on a synchronous backend. */
  private drive<T>(pass: Generator<Tensor, T, Float32Array>): T {
    for (let r = pass.next(); ; ) {
      if (r.done) return r.value;
      const got = this.backend.read(r.value);
      if (got instanceof Promise) {
        void got.catch(() => {});
        throw new HearthError('invalid_argument', `the ${this.backend.name} backend completes asynchronously: use the async form`);
      }
      r = pass.next(got);
    }
  }

  private async driveAsync<T>(pass: Generator<Tensor, T, Float32Array>): Promise<T> {
    for (let r = pass.next(); ; ) {
      if (r.done) return r.value;
      const b = this.backend;
      r = pass.next(await (b.readAsync ? b.readAsync(r.value) : b.read(r.value)));
    }
  }

  /**
   * One pooled vector per segment (each segment a whole input, from position 0), as llama.cpp's build_pooling:
   * mean of the final hidden states, the first (cls) or last row, or for 'rank' the classifier head's scores
   * over the first row. Not normalised. Synchronous backends only (embedBatchAsync for any).
   */
  embedBatch(segments: readonly Segment[], pooling: Pooling): Float32Array[] {
    return this.drive(this.embedPass(segments, pooling));
  }

  embedBatchAsync(segments: readonly Segment[], pooling: Pooling): Promise<Float32Array[]> {
    return this.driveAsync(this.embedPass(segments, pooling));
  }

  forwardAsync(tokens: ArrayLike<number>, pos0: number, cache: KVCache, allLogits = false): Promise<Float32Array> {
    return this.forwardBatchAsync([{ tokens, pos0, cache }], allLogits);
  }

  /** forwardBatch for any backend: each read is awaited. */
  forwardBatchAsync(segments: readonly Segment[], allLogits = false, hidden = false): Promise<Float32Array> {
    return this.driveAsync(this.pass(segments, allLogits ? 'all' : 'last', hidden));
  }

  private *embedPass(segments: readonly Segment[], pooling: Pooling): MultiPass {
    const m = this.model;
    const { nEmbd } = m.dims;
    if (pooling === 'none') throw new HearthError('invalid_argument', 'this model pools nothing (pooling_type none): it gives no embedding per input');
    if (pooling === 'rank' && !m.classifier) {
      throw new HearthError('model_invalid', 'pooling_type rank needs a classification head (cls / cls_out tensors), and this model has none');
    }
    const rowsWanted: OutputRows = pooling === 'mean' ? 'all' : pooling === 'last' ? 'last' : 'first';
    const h = yield* this.pass(segments, rowsWanted, true);
    const lens = segments.map((g) => rowsOf(g, nEmbd));
    const pooled: Float32Array[] = [];
    let r = 0;
    for (const len of lens) {
      if (pooling === 'mean') {
        const sum = new Float64Array(nEmbd);
        for (let t = 0; t < len; t++, r++) for (let d = 0; d < nEmbd; d++) sum[d] += h[r * nEmbd + d];
        pooled.push(Float32Array.from(sum, (v) => v / len));
      } else {
        pooled.push(h.slice(r * nEmbd, (r + 1) * nEmbd));
        r++;
      }
    }
    if (pooling !== 'rank') return pooled;
    // the classification head over the first rows, on the backend
    const c = m.classifier!;
    const b = this.backend;
    const k = pooled.length;
    const acts = this.activations(k);
    const x = acts.extra('pooled', k * nEmbd);
    const all = new Float32Array(k * nEmbd);
    pooled.forEach((v, i) => all.set(v, i * nEmbd));
    b.upload(x, all);
    let cur = x;
    let width = nEmbd;
    if (c.dense) {
      const y = acts.extra('clsDense', k * c.dense.rows);
      b.matmul(c.dense, cur, k, y);
      if (c.denseBias) b.addBias(y, c.denseBias, c.dense.rows, k);
      b.softcap(y, 1, k * c.dense.rows); // 1 * tanh(y / 1)
      cur = y;
      width = c.dense.rows;
    }
    if (c.out) {
      const y = acts.extra('clsOut', k * c.out.rows);
      b.matmul(c.out, cur, k, y);
      if (c.outBias) b.addBias(y, c.outBias, c.out.rows, k);
      cur = y;
      width = c.out.rows;
    }
    const scores = yield cur;
    return pooled.map((_, i) => scores.slice(i * width, (i + 1) * width));
  }

  private *pass(segments: readonly Segment[], rowsWanted: OutputRows, hidden: boolean): Pass {
    if (this.disposed) throw new HearthError('invalid_argument', 'this model has been disposed');
    const m = this.model;
    const { nEmbd } = m.dims;
    const nVocab = m.nVocab;
    const b = this.backend;
    const n = segments.reduce((sum, g) => sum + rowsOf(g, nEmbd), 0);
    if (n === 0) throw new HearthError('invalid_argument', 'forward: no tokens');
    const positions = new Int32Array(n);
    const batch: BatchSegment[] = [];
    let row = 0;
    for (const g of segments) {
      const len = rowsOf(g, nEmbd);
      if (len === 0) throw new HearthError('invalid_argument', 'forward: a sequence has no tokens');
      if (g.cache.disposed) throw new HearthError('invalid_argument', 'forward: this KV cache has been disposed');
      if (g.cache.backend !== b) throw new HearthError('invalid_argument', 'forward: the KV cache belongs to another backend');
      if (g.pos0 + len > g.cache.nCtx) {
        throw new HearthError('context_length_exceeded', `${g.pos0 + len} tokens do not fit in the context of ${g.cache.nCtx}`);
      }
      if (g.tokens) {
        for (let i = 0; i < len; i++) {
          const id = g.tokens[i];
          if (!Number.isInteger(id) || id < 0 || id >= nVocab) {
            throw new HearthError('invalid_argument', `token id ${id} is outside the vocabulary (0..${nVocab - 1})`);
          }
        }
      }
      g.cache.checkResume(g.pos0);
      batch.push({ r0: row, nTokens: len, pos0: g.pos0, cache: g.cache, tokens: !!g.tokens });
      for (let i = 0; i < len; i++, row++) positions[row] = g.pos0 + i;
    }
    for (const g of batch) g.cache.noteWrite(g.pos0, g.nTokens);
    const s = this.activations(n);

    // the first layer's input: token-embedding rows, or the rows a segment gives
    if (segments.every((g) => g.tokens)) {
      const ids = new Int32Array(n);
      let r = 0;
      for (const g of segments) for (let i = 0; i < g.tokens!.length; i++) ids[r++] = g.tokens![i];
      embedTokens(b, m.tokEmbd, ids, s);
    } else {
      segments.forEach((g, i) => {
        const rows = view(s.x, batch[i].r0 * nEmbd, batch[i].nTokens * nEmbd);
        if (g.tokens) b.getRows(m.tokEmbd, Int32Array.from(g.tokens), rows);
        else b.upload(rows, g.embeddings);
      });
    }
    const p: LayerPass = { backend: b, segments: batch, positions, n, s };
    m.input?.(p);
    for (let il = 0; il < m.nLayer; il++) m.layer(p, il);

    // output head, for each sequence's last token only unless every position (or the first) is wanted
    const rows: number[] = [];
    for (const g of batch) {
      const last = g.r0 + g.nTokens - 1;
      if (rowsWanted === 'first') rows.push(g.r0);
      else for (let r = rowsWanted === 'all' ? g.r0 : last; r <= last; r++) rows.push(r);
    }
    const nOut = rows.length;
    if (!m.outputNorm) {
      // a post-norm encoder: the last layer's output is the hidden state
      if (!hidden) throw new HearthError('internal', 'a model without an output norm has no logits head');
      const x = yield view(s.x, 0, n * nEmbd);
      if (rows.every((r, i) => r === i) && nOut === n) return x;
      const out = new Float32Array(nOut * nEmbd);
      rows.forEach((r, i) => out.set(x.subarray(r * nEmbd, (r + 1) * nEmbd), i * nEmbd));
      return out;
    }
    const normed = outputNorm(b, m.outputNorm, m.dims, rows, s);
    if (hidden) return yield normed;
    const step = Math.max(1, Math.min(nOut, Math.floor(LOGITS_CHUNK_BYTES / (nVocab * 4))));
    const head = (x: Tensor, k: number): Tensor => {
      const logits = this.logitsTensor(k);
      b.matmul(m.output, x, k, logits);
      if (m.logitSoftcap !== undefined) b.softcap(logits, m.logitSoftcap, k * nVocab);
      return logits;
    };
    if (step === nOut) return yield head(normed, nOut);
    const out = new Float32Array(nOut * nVocab);
    for (let r = 0; r < nOut; r += step) {
      const k = Math.min(step, nOut - r);
      out.set(yield head(view(normed, r * nEmbd, k * nEmbd), k), r * nVocab);
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
