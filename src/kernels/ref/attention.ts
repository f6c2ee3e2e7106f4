// Reference self-attention over a KV cache with grouped-query heads.
// q is [nTokens, nHead, headDim]; the caches are [nCtx, nHeadKv, headDim]; token t sits at position pos0 + t
// and, causally (the default), attends to cache positions 0..pos0+t. With `f16` the query and the softmax weights are rounded to
// half precision before their products with the f16 cache, as ggml's CPU attention does. The caches are f32
// values or IEEE half bits (Uint16Array, an f16 cache as stored).

import { f16Table, roundF16 } from '../../util/f16.ts';
import { HearthError } from '../../util/errors.ts';
import { cacheRows, keyRange, visible, type AttentionOptions } from './attention-options.ts';
import { softcapOne } from './scale.ts';

export interface AttentionShape {
  nHead: number;
  nHeadKv: number;
  headDim: number;
  scale: number;
  f16: boolean;
}

/** The first n values of a cache as f32. */
export function cacheF32(c: Float32Array | Uint16Array, n: number): Float32Array {
  if (c instanceof Float32Array) return c;
  const tab = f16Table();
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = tab[c[i]];
  return out;
}

/**
 * Attention of q over the cache's positions 0 .. pos0 + nTokens - 1, masked as `o` says (./attention-options.ts:
 * causal by default, an optional sliding window, an optional soft-cap on the scores, an optional ring cache).
 * Masked positions get no weight. Keys are visited in position order, so a ring and a full cache holding the same
 * keys give the same result exactly.
 */
export function attention(q: Float32Array, kc: Float32Array | Uint16Array, vc: Float32Array | Uint16Array, nTokens: number,
  pos0: number, s: AttentionShape, out: Float32Array, o: AttentionOptions = {}): void {
  const { nHead, nHeadKv, headDim, scale } = s;
  const group = nHead / nHeadKv;
  const kvStride = nHeadKv * headDim;
  const nAll = pos0 + nTokens;
  const rows = cacheRows(nAll, o);
  const ring = o.ring?.size;
  if (ring !== undefined && (!Number.isInteger(ring) || ring < 1)) {
    throw new HearthError('invalid_argument', `attention: a ring of ${ring} rows`);
  }
  const kCache = cacheF32(kc, rows * kvStride);
  const vCache = cacheF32(vc, rows * kvStride);
  const scores = new Float32Array(nAll);
  const qh = new Float32Array(headDim);
  const row = (p: number) => (ring === undefined ? p : p % ring);
  for (let t = 0; t < nTokens; t++) {
    const qpos = pos0 + t;
    const [lo, hi] = keyRange(qpos, nAll, o);
    if (ring !== undefined && lo < nAll - ring) {
      throw new HearthError('invalid_argument', `attention: position ${qpos} needs key ${lo}, which a ring of ${ring} rows ` +
        `no longer holds after position ${nAll - 1} (a window of ${o.window ?? 'none'}; split the batch)`);
    }
    for (let h = 0; h < nHead; h++) {
      const kvh = Math.floor(h / group);
      const qo = (t * nHead + h) * headDim;
      for (let d = 0; d < headDim; d++) qh[d] = s.f16 ? roundF16(q[qo + d]) : q[qo + d];
      let max = -Infinity;
      for (let p = lo; p <= hi; p++) {
        const i = p - lo;
        if (!visible(qpos, p, o)) {
          scores[i] = -Infinity;
          continue;
        }
        const ko = row(p) * kvStride + kvh * headDim;
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += qh[d] * kCache[ko + d];
        let v = dot * scale;
        if (o.softcap !== undefined) v = softcapOne(v, o.softcap);
        scores[i] = v;
        if (v > max) max = v;
      }
      let sum = 0;
      for (let i = 0; i <= hi - lo; i++) {
        const e = scores[i] === -Infinity ? 0 : Math.exp(scores[i] - max);
        scores[i] = e;
        sum += e;
      }
      const oo = (t * nHead + h) * headDim;
      for (let d = 0; d < headDim; d++) out[oo + d] = 0;
      for (let p = lo; p <= hi; p++) {
        const e = scores[p - lo];
        if (e === 0) continue;
        const wgt = s.f16 ? roundF16(e / sum) : e / sum;
        const vo = row(p) * kvStride + kvh * headDim;
        for (let d = 0; d < headDim; d++) out[oo + d] += wgt * vCache[vo + d];
      }
    }
  }
}
