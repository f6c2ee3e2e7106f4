// The shared blocks of the architectures, written once against the Backend op interface, for every backend:
// norms (RMSNorm, LayerNorm with bias), the attention block (norm -> q,k,v (+bias) -> rope -> KV store ->
// attention (causal or not, sliding window, soft-cap, scale) -> output (+bias) -> residual), the feed-forward
// block (norm -> gate/up -> SwiGLU / GEGLU, or up -> GELU -> down -> residual) and the output norm. An
// architecture (archs/<name>.ts) composes them; the ops only record work, the caller reads the result.
// The pieces are exported apart (norm, selfAttention, feedForward) for families that compose them otherwise
// (a post-norm encoder normalises after the residual).

import { view, type Backend, type Tensor, type WeightTensor } from '../kernels/backend.ts';
import type { AttentionOptions } from '../kernels/types.ts';
import type { RopeParams } from '../kernels/types.ts';
import { HearthError } from '../util/errors.ts';
import type { KVCache } from './kv-cache.ts';

/** A norm's weights: RMSNorm (llama), or LayerNorm whose weight and bias may each be absent (bert, phi2). */
export type NormWeights =
  | { kind: 'rms'; weight: Tensor }
  | { kind: 'layer'; weight?: Tensor; bias?: Tensor };

export interface AttentionWeights {
  norm: NormWeights;
  wq: WeightTensor; wk: WeightTensor; wv: WeightTensor; wo: WeightTensor;
  bq?: Tensor; bk?: Tensor; bv?: Tensor; bo?: Tensor;
  /** RMSNorm of each head of Q and of K ([headDim] weights), before RoPE (qwen3, gemma3). */
  qNorm?: Tensor; kNorm?: Tensor;
  /** A norm of the block's output before the residual add (gemma2/3's post_attention_norm). */
  postNorm?: NormWeights;
}

/** How attention runs: without `rope` positions are not rotated in (learned or no positions). */
export interface AttentionBlockOptions {
  rope?: RopeParams;
  /** Score scale; default 1 / sqrt(headDim), or 1 with qScale. */
  scale?: number;
  /**
   * Q is multiplied by this after RoPE, before attention (whose scores then take `scale`, default 1): where
   * llama.cpp scales Q itself (phi3's 1 / sqrt(headDim), gemma's query_pre_attn_scalar), so that Q is rounded
   * to the f16 of the cache's products after its scaling, as there.
   */
  qScale?: number;
  /** Causal (default), sliding window, soft-capped scores. */
  mask?: AttentionOptions;
}

/** swiglu: down(silu(gate) * up); geglu: down(gelu(gate) * up); gelu: down(gelu(up)) with no gate. */
export type FeedForwardKind = 'swiglu' | 'geglu' | 'gelu';

export interface FeedForwardWeights {
  norm: NormWeights;
  kind: FeedForwardKind;
  /** Absent for the 'gelu' kind. */
  wGate?: WeightTensor;
  wUp: WeightTensor; wDown: WeightTensor;
  bGate?: Tensor; bUp?: Tensor; bDown?: Tensor;
  /** A norm of the block's output before the residual add (gemma2/3's post_ffw_norm). */
  postNorm?: NormWeights;
}

/** The shapes the blocks need. */
export interface BlockDims {
  nEmbd: number; nHead: number; nHeadKv: number; headDim: number; nFF: number; normEps: number;
}

/** One sequence's rows of a batch: rows [r0, r0 + nTokens) sit at positions pos0.. of `cache`. */
export interface BatchSegment {
  r0: number;
  nTokens: number;
  pos0: number;
  cache: KVCache;
  /** The rows came from token ids (false: embedding rows given by the caller). */
  tokens: boolean;
}

/** The rows of one pass the attention block needs: per-segment caches and every row's position. */
export interface PassRows {
  readonly segments: readonly BatchSegment[];
  readonly positions: Int32Array;
  readonly n: number;
}

/** Activation tensors for a batch of up to n tokens, reused across calls. */
export class Activations {
  readonly n: number;
  readonly x: Tensor; readonly xb: Tensor;
  readonly q: Tensor; readonly k: Tensor; readonly v: Tensor; readonly att: Tensor;
  readonly gate: Tensor; readonly up: Tensor;
  private readonly backend: Backend;
  private readonly extras = new Map<string, Tensor>();

  constructor(backend: Backend, d: BlockDims, n: number) {
    const qDim = d.nHead * d.headDim;
    const kvDim = d.nHeadKv * d.headDim;
    const alloc = (elems: number) => backend.alloc(elems, 'f32', 'scratch');
    this.backend = backend;
    this.n = n;
    this.x = alloc(n * d.nEmbd);                    // [n, nEmbd] residual stream
    this.xb = alloc(n * Math.max(d.nEmbd, qDim));   // [n, nEmbd] normed input / projection output
    this.q = alloc(n * qDim);                       // [n, nHead, headDim]
    this.k = alloc(n * kvDim);                      // [n, nHeadKv, headDim]
    this.v = alloc(n * kvDim);
    this.att = alloc(n * qDim);                     // [n, nHead, headDim]
    this.gate = alloc(n * d.nFF);                   // [n, nFF]
    this.up = alloc(n * d.nFF);
  }

  /**
   * A scratch tensor of at least `elems` f32 elements, by name, allocated on first use and kept with the others:
   * what only some families need (normed Q/K heads, a post-norm's output, a mixture-of-experts' buffers).
   */
  extra(name: string, elems: number): Tensor {
    let t = this.extras.get(name);
    if (!t || t.length < elems) {
      if (t) this.backend.free(t);
      this.extras.delete(name);
      t = this.backend.alloc(elems, 'f32', 'scratch');
      this.extras.set(name, t);
    }
    return view(t, 0, elems);
  }

  dispose(): void {
    for (const t of [this.x, this.xb, this.q, this.k, this.v, this.att, this.gate, this.up, ...this.extras.values()]) this.backend.free(t);
    this.extras.clear();
  }
}

/** x[t] = embedding row of token ids[t]. */
export function embedTokens(b: Backend, tokEmbd: WeightTensor, ids: Int32Array, s: Activations): void {
  b.getRows(tokEmbd, ids, view(s.x, 0, ids.length * tokEmbd.cols));
}

/** out = norm(x) over nTokens rows of n. */
export function norm(b: Backend, w: NormWeights, eps: number, x: Tensor, n: number, nTokens: number, out: Tensor): void {
  if (w.kind === 'rms') b.rmsNorm(x, w.weight, eps, n, nTokens, out);
  else b.layerNorm(x, w.weight, w.bias, eps, n, nTokens, out);
}

/**
 * xb = wo(attention(q, k, v)) (+ bo) from the normed input in xb (or in `input`: a post-norm encoder's x), over
 * each segment's KV cache, layer il: q,k,v (+bias) -> rope (when given) -> KV store -> attention.
 */
export function selfAttention(b: Backend, L: AttentionWeights, d: BlockDims, o: AttentionBlockOptions, il: number, p: PassRows,
  s: Activations, input: Tensor = s.xb): void {
  const { nHead, nHeadKv, headDim } = d;
  const { n, positions } = p;
  const qDim = nHead * headDim;
  const kvDim = nHeadKv * headDim;
  b.matmul(L.wq, input, n, s.q);
  b.matmul(L.wk, input, n, s.k);
  b.matmul(L.wv, input, n, s.v);
  if (L.bq) b.addBias(s.q, L.bq, qDim, n);
  if (L.bk) b.addBias(s.k, L.bk, kvDim, n);
  if (L.bv) b.addBias(s.v, L.bv, kvDim, n);
  // per-head norms write to their own scratch (a backend may not read and write one buffer in one op)
  let q = s.q;
  let k = s.k;
  if (L.qNorm) {
    q = s.extra('qNormed', n * qDim);
    b.rmsNorm(s.q, L.qNorm, d.normEps, headDim, n * nHead, q);
  }
  if (L.kNorm) {
    k = s.extra('kNormed', n * kvDim);
    b.rmsNorm(s.k, L.kNorm, d.normEps, headDim, n * nHeadKv, k);
  }
  if (o.rope) {
    b.rope(q, n, nHead, headDim, positions, o.rope);
    b.rope(k, n, nHeadKv, headDim, positions, o.rope);
  }
  if (o.qScale !== undefined) b.scale(q, o.qScale, n * qDim);
  const scale = o.scale ?? (o.qScale !== undefined ? 1 : 1 / Math.sqrt(headDim));
  for (const g of p.segments) {
    const kc = g.cache.k(il);
    const vc = g.cache.v(il);
    const shape = { nHead, nHeadKv, headDim, scale, f16: g.cache.f16 };
    // a ring layer takes the segment in chunks its ring holds with every key they need (kv-cache.ts)
    const ring = g.cache.ring(il);
    const step = ring === undefined ? g.nTokens : ringStep(ring, g.cache.ringWindow(il)!, o.mask, il);
    const mask = ring === undefined ? o.mask : { ...o.mask, ring: { size: ring } };
    for (let t0 = 0; t0 < g.nTokens; t0 += step) {
      const m = Math.min(step, g.nTokens - t0);
      const rows = (t: Tensor, dim: number) => view(t, (g.r0 + t0) * dim, m * dim);
      g.cache.store(il, rows(k, kvDim), rows(s.v, kvDim), g.pos0 + t0, m);
      if (mask) b.attention(rows(q, qDim), kc, vc, m, g.pos0 + t0, shape, rows(s.att, qDim), mask);
      else b.attention(rows(q, qDim), kc, vc, m, g.pos0 + t0, shape, rows(s.att, qDim));
    }
  }
  b.matmul(L.wo, s.att, n, s.xb);
  if (L.bo) b.addBias(s.xb, L.bo, d.nEmbd, n);
}

/** Tokens per chunk over a ring of `ring` rows sized for `window`: a chunk of m needs window + m - 1 rows. */
function ringStep(ring: number, window: number, mask: AttentionOptions | undefined, il: number): number {
  if (!(mask?.causal ?? true) || mask?.window === undefined || mask.window > window) {
    throw new HearthError('internal', `layer ${il}: a KV ring for a window of ${window} needs causal attention within that window`);
  }
  return ring - mask.window + 1;
}

/** x += xb, or x += postNorm(xb) when the block has a post-norm (sandwich norms). */
export function residual(b: Backend, postNorm: NormWeights | undefined, d: BlockDims, n: number, s: Activations): void {
  if (!postNorm) {
    b.add(s.x, s.xb, n * d.nEmbd);
    return;
  }
  const out = s.extra('postNormed', n * d.nEmbd);
  norm(b, postNorm, d.normEps, s.xb, d.nEmbd, n, out);
  b.add(s.x, out, n * d.nEmbd);
}

/** x += attention(norm(x)): the pre-norm attention block (post-normed before the add when it has a post-norm). */
export function attentionBlock(b: Backend, L: AttentionWeights, d: BlockDims, o: AttentionBlockOptions, il: number, p: PassRows,
  s: Activations): void {
  norm(b, L.norm, d.normEps, s.x, d.nEmbd, p.n, s.xb);
  selfAttention(b, L, d, o, il, p, s);
  residual(b, L.postNorm, d, p.n, s);
}

/** xb = the feed-forward network of the normed input in xb, or in `input` (its kind: SwiGLU, GEGLU or GELU). */
export function feedForward(b: Backend, L: FeedForwardWeights, d: BlockDims, n: number, s: Activations, input: Tensor = s.xb): void {
  const { nFF } = d;
  b.matmul(L.wUp, input, n, s.up);
  if (L.bUp) b.addBias(s.up, L.bUp, nFF, n);
  let act = s.up;
  if (L.kind === 'gelu') {
    b.gelu(s.up, n * nFF);
  } else {
    if (!L.wGate) throw new HearthError('internal', `a ${L.kind} feed-forward needs a gate projection`);
    b.matmul(L.wGate, input, n, s.gate);
    if (L.bGate) b.addBias(s.gate, L.bGate, nFF, n);
    if (L.kind === 'swiglu') b.swiglu(s.gate, s.up, n * nFF);
    else b.geglu(s.gate, s.up, n * nFF);
    act = s.gate;
  }
  b.matmul(L.wDown, act, n, s.xb);
  if (L.bDown) b.addBias(s.xb, L.bDown, d.nEmbd, n);
}

/** x += ffn(norm(x)): the pre-norm feed-forward block. */
export function feedForwardBlock(b: Backend, L: FeedForwardWeights, d: BlockDims, n: number, s: Activations): void {
  norm(b, L.norm, d.normEps, s.x, d.nEmbd, n, s.xb);
  feedForward(b, L, d, n, s);
  residual(b, L.postNorm, d, n, s);
}

/**
 * xb[i] = norm(x[rows[i]]): the final norm of the rows that get an output. Contiguous rows from 0 take one op.
 * Returns the normed rows [rows.length, nEmbd].
 */
export function outputNorm(b: Backend, w: NormWeights, d: BlockDims, rows: readonly number[], s: Activations): Tensor {
  const { nEmbd } = d;
  if (rows.every((r, i) => r === i)) {
    norm(b, w, d.normEps, s.x, nEmbd, rows.length, s.xb);
  } else {
    rows.forEach((r, i) => norm(b, w, d.normEps, view(s.x, r * nEmbd, nEmbd), nEmbd, 1, view(s.xb, i * nEmbd, nEmbd)));
  }
  return view(s.xb, 0, rows.length * nEmbd);
}
