// The shared blocks of a pre-norm decoder, written once against the Backend op interface, for every backend:
// token embedding, the attention block (norm -> q,k,v (+bias) -> rope -> KV store -> attention -> output ->
// residual), the feed-forward block (norm -> gate/up -> swiglu -> down -> residual) and the output head.
// An architecture composes them (archs/llama-family.ts); the ops only record work, the caller reads the result.

import { view, type Backend, type Tensor, type WeightTensor } from '../kernels/backend.ts';
import type { RopeParams } from '../kernels/ref/rope.ts';
import type { KVCache } from './kv-cache.ts';

export interface AttentionWeights {
  norm: Tensor;
  wq: WeightTensor; wk: WeightTensor; wv: WeightTensor; wo: WeightTensor;
  bq?: Tensor; bk?: Tensor; bv?: Tensor;
}

export interface FeedForwardWeights {
  norm: Tensor;
  wGate: WeightTensor; wUp: WeightTensor; wDown: WeightTensor;
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
}

/** Activation tensors for a batch of up to n tokens, reused across calls. */
export class Activations {
  readonly n: number;
  readonly x: Tensor; readonly xb: Tensor;
  readonly q: Tensor; readonly k: Tensor; readonly v: Tensor; readonly att: Tensor;
  readonly gate: Tensor; readonly up: Tensor;
  private readonly backend: Backend;

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

  dispose(): void {
    for (const t of [this.x, this.xb, this.q, this.k, this.v, this.att, this.gate, this.up]) this.backend.free(t);
  }
}

/** x[t] = embedding row of token ids[t]. */
export function embedTokens(b: Backend, tokEmbd: WeightTensor, ids: Int32Array, s: Activations): void {
  b.getRows(tokEmbd, ids, view(s.x, 0, ids.length * tokEmbd.cols));
}

/** x += attention(norm(x)) over each segment's KV cache, layer il. */
export function attentionBlock(b: Backend, L: AttentionWeights, d: BlockDims, rope: RopeParams, il: number,
  segments: readonly BatchSegment[], positions: Int32Array, n: number, s: Activations): void {
  const { nEmbd, nHead, nHeadKv, headDim } = d;
  const qDim = nHead * headDim;
  const kvDim = nHeadKv * headDim;
  b.rmsNorm(s.x, L.norm, d.normEps, nEmbd, n, s.xb);
  b.matmul(L.wq, s.xb, n, s.q);
  b.matmul(L.wk, s.xb, n, s.k);
  b.matmul(L.wv, s.xb, n, s.v);
  if (L.bq) b.addBias(s.q, L.bq, qDim, n);
  if (L.bk) b.addBias(s.k, L.bk, kvDim, n);
  if (L.bv) b.addBias(s.v, L.bv, kvDim, n);
  b.rope(s.q, n, nHead, headDim, positions, rope);
  b.rope(s.k, n, nHeadKv, headDim, positions, rope);
  for (const g of segments) {
    const kc = g.cache.k(il);
    const vc = g.cache.v(il);
    const rows = (t: Tensor, dim: number) => view(t, g.r0 * dim, g.nTokens * dim);
    b.kvStore(rows(s.k, kvDim), rows(s.v, kvDim), view(kc, g.pos0 * kvDim, g.nTokens * kvDim), view(vc, g.pos0 * kvDim, g.nTokens * kvDim));
    const shape = { nHead, nHeadKv, headDim, scale: 1 / Math.sqrt(headDim), f16: g.cache.f16 };
    b.attention(rows(s.q, qDim), kc, vc, g.nTokens, g.pos0, shape, rows(s.att, qDim));
  }
  b.matmul(L.wo, s.att, n, s.xb);
  b.add(s.x, s.xb, n * nEmbd);
}

/** x += down(swiglu(gate(norm(x)), up(norm(x)))). */
export function feedForwardBlock(b: Backend, L: FeedForwardWeights, d: BlockDims, n: number, s: Activations): void {
  b.rmsNorm(s.x, L.norm, d.normEps, d.nEmbd, n, s.xb);
  b.matmul(L.wGate, s.xb, n, s.gate);
  b.matmul(L.wUp, s.xb, n, s.up);
  b.swiglu(s.gate, s.up, n * d.nFF);
  b.matmul(L.wDown, s.gate, n, s.xb);
  b.add(s.x, s.xb, n * d.nEmbd);
}

/**
 * xb[i] = norm(x[rows[i]]): the final norm of the rows that get an output. Contiguous rows from 0 take one op.
 * Returns the normed rows [rows.length, nEmbd].
 */
export function outputNorm(b: Backend, norm: Tensor, d: BlockDims, rows: readonly number[], s: Activations): Tensor {
  const { nEmbd } = d;
  if (rows.every((r, i) => r === i)) {
    b.rmsNorm(s.x, norm, d.normEps, nEmbd, rows.length, s.xb);
  } else {
    rows.forEach((r, i) => b.rmsNorm(view(s.x, r * nEmbd, nEmbd), norm, d.normEps, nEmbd, 1, view(s.xb, i * nEmbd, nEmbd)));
  }
  return view(s.xb, 0, rows.length * nEmbd);
}
