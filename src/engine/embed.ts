// Embeddings, as llama-server computes them: the model's pooling ({arch}.pooling_type; mean for a decoder whose
// file says none) over its final hidden states (decoder.ts embedBatch, llama.cpp's build_pooling), then
// L2-normalised (llama-server's default embd_normalize 2); rank scores (pooling rank: a reranker's classifier
// logits) stay raw. Each input runs on its own scratch KV cache; the callers' contexts are untouched.
//
// An encoder (bert, nomic-bert: bidirectional attention) sees a whole input in one pass, so its inputs are never
// cut into chunks; its scratch cache holds K and V in f32, as llama.cpp's encoder graph (no KV cache, no flash
// attention) keeps them. Its inputs are wrapped in the vocabulary's [CLS] ... [SEP] where they lack them (what
// tokenizing with special tokens gives; node-llama-cpp completes bare ids the same way); rank inputs come framed
// (rerank.ts).
//
// Several inputs run as one batched pass (embedBatch: every input a segment) when they fit; a decoder input
// longer than a step goes chunk by chunk (the scheduler runs one chunk per step). embed()/embedMany() run inputs
// to the end.

import { HearthError } from '../util/errors.ts';
import type { KVCache, Pooling } from '../model/types.ts';
import { POOLING_BY_ID } from '../model/archs/types.ts';
import { KVCache as Cache } from '../model/kv-cache.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import type { LoadedModel } from './load.ts';

/**
 * The pooling a model's embeddings use: its file's {arch}.pooling_type (an encoder's architecture reads it; a
 * decoder's file may carry it too, e.g. last-token embedders), else mean (a decoder whose file names none).
 */
export function modelPooling(model: LoadedModel): Pooling {
  const built = model.forward.model.pooling;
  if (built) return built;
  return POOLING_BY_ID[model.metadata.getNumber(`${model.arch}.pooling_type`, -1)] ?? 'mean';
}

/** Whether a model's attention sees whole inputs (an encoder): its inputs run unchunked. */
export function isEncoder(model: LoadedModel): boolean {
  return model.forward.model.bidirectional === true;
}

/**
 * An encoder's input as the vocabulary frames it: [CLS] (BOS) first and [SEP] last (EOS where the vocabulary
 * ends inputs with it instead) where the vocabulary adds them, each only where missing (ids that already carry
 * them are left as they are).
 */
export function encoderInput(tok: Tokenizer, tokens: readonly number[]): number[] {
  const out = [...tokens];
  if (tok.addBos && tok.bosId >= 0 && out[0] !== tok.bosId) out.unshift(tok.bosId);
  const sep = tok.sepId ?? -1;
  const end = (tok.addSep ?? false) && sep >= 0 ? sep : tok.addEos && tok.eosId >= 0 ? tok.eosId : -1;
  if (end >= 0 && out.at(-1) !== end) out.push(end);
  return out;
}

/** v / |v| (llama.cpp's common_embd_normalize with norm 2; a zero vector stays zero). */
export function l2Normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
  return Float32Array.from(v, (x) => x * scale);
}

export class EmbeddingJob {
  readonly model: LoadedModel;
  /** The ids evaluated (an encoder's framed by [CLS] / [SEP]). */
  readonly tokens: readonly number[];
  readonly pooling: Pooling;
  /** Runs in one pass (an encoder); otherwise it may go chunk by chunk. */
  readonly whole: boolean;
  /** The scratch cache, allocated when the job first runs (a queued input holds no memory). */
  private scratch: KVCache | undefined;
  private disposed = false;
  private done = 0;
  /** Chunked pooling state: the sum of rows (mean), or the pooled row (cls: the first, last: the latest). */
  private readonly acc: Float64Array;
  private pooled: Float32Array | undefined;

  /** Checks the input against the model (throws before anything runs); `pooling` overrides the model's (rank). */
  constructor(model: LoadedModel, tokens: readonly number[], pooling: Pooling = modelPooling(model)) {
    const whole = isEncoder(model);
    // a rank input comes framed already (rerank.ts: [CLS] query [SEP] document)
    const ids = whole && pooling !== 'rank' && tokens.length > 0 ? encoderInput(model.tokenizer, tokens) : tokens;
    if (ids.length === 0) throw new HearthError('invalid_argument', 'cannot embed an empty input');
    if (ids.length > model.nCtx) {
      throw new HearthError('context_length_exceeded', `the input is ${ids.length} tokens; the context holds ${model.nCtx}`);
    }
    const { hp } = model;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= hp.nVocab) {
        throw new HearthError('invalid_argument', `token id ${id} is outside the vocabulary (0..${hp.nVocab - 1})`);
      }
    }
    if (pooling === 'none') {
      throw new HearthError('invalid_argument', `${model.name} pools nothing (${hp.arch}.pooling_type none): it gives no embedding per input`);
    }
    if (pooling === 'rank' && !model.forward.model.classifier) {
      throw new HearthError('invalid_argument',
        `${model.name} cannot rerank: it has no classification head (cls.weight / cls.output.weight tensors); load a reranker`);
    }
    this.model = model;
    this.tokens = ids;
    this.pooling = pooling;
    this.whole = whole;
    this.acc = new Float64Array(hp.nEmbd);
  }

  private get cache(): KVCache {
    if (this.disposed) throw new HearthError('invalid_argument', 'this embedding job has been disposed');
    if (!this.scratch) {
      const { hp } = this.model;
      const n = this.tokens.length;
      this.scratch = this.whole ? new Cache(this.model.backend, hp.nLayer, n, hp.nHeadKv * hp.headDim, false) : this.model.createCache(n);
    }
    return this.scratch;
  }

  get finished(): boolean {
    return this.pooled !== undefined;
  }

  /** Nothing has run yet (the job can join a batched pass). */
  get fresh(): boolean {
    return this.done === 0 && !this.finished;
  }

  /** The job as one segment of a batched pass (decoder.ts embedBatch). */
  segment(): { tokens: readonly number[]; pos0: number; cache: KVCache } {
    return { tokens: this.tokens, pos0: 0, cache: this.cache };
  }

  /** The pooled vector of the job's batched pass. */
  finish(pooled: Float32Array): void {
    this.done = this.tokens.length;
    this.pooled = pooled;
  }

  /** Runs the next (at most) n tokens through the model (the whole input for an encoder); returns how many ran. */
  next(n: number): number {
    if (this.finished) return 0;
    if (this.whole || (this.done === 0 && n >= this.tokens.length)) {
      runEmbeddingBatch(this.model, [this]);
      return this.tokens.length;
    }
    if (this.pooling === 'rank') throw new HearthError('internal', 'a rank-pooled input must run in one pass');
    const nEmbd = this.model.hp.nEmbd;
    const chunk = this.tokens.slice(this.done, this.done + Math.max(1, n));
    const last = this.done + chunk.length === this.tokens.length;
    const fw = this.model.forward;
    if (this.pooling === 'last') {
      const h = fw.forwardBatch([{ tokens: chunk, pos0: this.done, cache: this.cache }], false, true);
      if (last) this.pooled = h.slice(0, nEmbd);
    } else {
      const h = fw.forwardBatch([{ tokens: chunk, pos0: this.done, cache: this.cache }], true, true);
      if (this.pooling === 'cls') {
        if (this.done === 0) for (let d = 0; d < nEmbd; d++) this.acc[d] = h[d];
      } else {
        for (let t = 0; t < chunk.length; t++) for (let d = 0; d < nEmbd; d++) this.acc[d] += h[t * nEmbd + d];
      }
      if (last) {
        const div = this.pooling === 'mean' ? this.tokens.length : 1;
        this.pooled = Float32Array.from(this.acc, (v) => v / div);
      }
    }
    this.done += chunk.length;
    return chunk.length;
  }

  /** The embedding, L2-normalised, or a reranker's raw scores (call once finished). */
  result(): Float32Array {
    if (!this.pooled) throw new HearthError('internal', 'embedding read before its last chunk ran');
    return this.pooling === 'rank' ? this.pooled : l2Normalize(this.pooled);
  }

  /** Frees the scratch cache now (idempotent; the job cannot run afterwards). */
  dispose(): void {
    this.disposed = true;
    this.scratch?.dispose();
  }
}

/** Fresh jobs of one model and one pooling in ONE forward pass (each input a segment); each is finished after. */
export function runEmbeddingBatch(model: LoadedModel, jobs: readonly EmbeddingJob[]): void {
  if (jobs.length === 0) return;
  const pooling = jobs[0].pooling;
  for (const j of jobs) {
    if (j.model !== model || j.pooling !== pooling || !j.fresh) throw new HearthError('internal', 'a batched embedding pass takes fresh jobs of one model and pooling');
  }
  const pooled = model.forward.embedBatch(jobs.map((j) => j.segment()), pooling);
  jobs.forEach((j, i) => j.finish(pooled[i]));
}

/**
 * Several inputs to the end, in batched passes of at most nBatch tokens (an input longer than that runs alone,
 * an encoder's in one pass, a decoder's chunk by chunk). One vector per input, in order (see EmbeddingJob.result).
 */
export function embedMany(model: LoadedModel, inputs: readonly (readonly number[])[], pooling?: Pooling): Float32Array[] {
  const jobs: EmbeddingJob[] = [];
  try {
    for (const t of inputs) jobs.push(new EmbeddingJob(model, t, pooling));
    const nBatch = model.options.nBatch ?? 512;
    for (let i = 0; i < jobs.length;) {
      const group = takeBatch(jobs, i, nBatch);
      if (group.length > 1) runEmbeddingBatch(model, group);
      else while (!group[0].finished) group[0].next(nBatch);
      i += group.length;
    }
    return jobs.map((j) => j.result());
  } finally {
    for (const j of jobs) j.dispose();
  }
}

/**
 * The fresh jobs from `start` on that fit one pass of `budget` tokens together (at least the first; the same
 * pooling; stops at the first that does not fit, so order is kept).
 */
export function takeBatch(jobs: readonly EmbeddingJob[], start: number, budget: number): EmbeddingJob[] {
  const first = jobs[start];
  const group = [first];
  if (!first.fresh) return group;
  let used = first.tokens.length;
  for (let i = start + 1; i < jobs.length; i++) {
    const j = jobs[i];
    if (!j.fresh || j.pooling !== first.pooling || used + j.tokens.length > budget || used >= budget) break;
    group.push(j);
    used += j.tokens.length;
  }
  return group;
}

export function embed(model: LoadedModel, tokens: readonly number[], pooling?: Pooling): Float32Array {
  return embedMany(model, [tokens], pooling)[0];
}
