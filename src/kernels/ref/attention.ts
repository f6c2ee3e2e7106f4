// Reference self-attention over a KV cache with grouped-query heads.
// q is [nTokens, nHead, headDim]; the caches are [nCtx, nHeadKv, headDim]; token t sits at position pos0 + t
// and, causally (the default), attends to cache positions 0..pos0+t. With `f16` the query and the softmax weights are rounded to
// half precision before their products with the f16 cache, as ggml's CPU attention does. The caches are f32
// values or IEEE half bits (Uint16Array, an f16 cache as stored).

import { f16Table, roundF16 } from '../../util/f16.ts';
import { visible, type AttentionOptions } from './attention-options.ts';
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
 * causal by default, an optional sliding window, an optional soft-cap on the scores). Masked positions get no weight.
 */
export function attention(q: Float32Array, kc: Float32Array | Uint16Array, vc: Float32Array | Uint16Array, nTokens: number,
  pos0: number, s: AttentionShape, out: Float32Array, o: AttentionOptions = {}): void {
  const { nHead, nHeadKv, headDim, scale } = s;
  const group = nHead / nHeadKv;
  const kvStride = nHeadKv * headDim;
  const nAll = pos0 + nTokens;
  const kCache = cacheF32(kc, nAll * kvStride);
  const vCache = cacheF32(vc, nAll * kvStride);
  const scores = new Float32Array(nAll);
  const qh = new Float32Array(headDim);
  for (let t = 0; t < nTokens; t++) {
    const qpos = pos0 + t;
    for (let h = 0; h < nHead; h++) {
      const kvh = Math.floor(h / group);
      const qo = (t * nHead + h) * headDim;
      for (let d = 0; d < headDim; d++) qh[d] = s.f16 ? roundF16(q[qo + d]) : q[qo + d];
      let max = -Infinity;
      for (let p = 0; p < nAll; p++) {
        if (!visible(qpos, p, o)) {
          scores[p] = -Infinity;
          continue;
        }
        const ko = p * kvStride + kvh * headDim;
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += qh[d] * kCache[ko + d];
        let v = dot * scale;
        if (o.softcap !== undefined) v = softcapOne(v, o.softcap);
        scores[p] = v;
        if (v > max) max = v;
      }
      let sum = 0;
      for (let p = 0; p < nAll; p++) {
        const e = scores[p] === -Infinity ? 0 : Math.exp(scores[p] - max);
        scores[p] = e;
        sum += e;
      }
      const oo = (t * nHead + h) * headDim;
      for (let d = 0; d < headDim; d++) out[oo + d] = 0;
      for (let p = 0; p < nAll; p++) {
        if (scores[p] === 0) continue;
        const wgt = s.f16 ? roundF16(scores[p] / sum) : scores[p] / sum;
        const vo = p * kvStride + kvh * headDim;
        for (let d = 0; d < headDim; d++) out[oo + d] += wgt * vCache[vo + d];
      }
    }
  }
}
