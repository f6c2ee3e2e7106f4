// Reference causal self-attention over a KV cache with grouped-query heads.
// q is [nTokens, nHead, headDim]; the caches are [nCtx, nHeadKv, headDim]; token t sits at position pos0 + t
// and attends to cache positions 0..pos0+t. With `f16` the query and the softmax weights are rounded to
// half precision before their products with the f16 cache, as ggml's CPU attention does. The caches are f32
// values or IEEE half bits (Uint16Array, an f16 cache as stored).

import { f16Table, roundF16 } from '../../util/f16.ts';

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

export function attention(q: Float32Array, kc: Float32Array | Uint16Array, vc: Float32Array | Uint16Array, nTokens: number,
  pos0: number, s: AttentionShape, out: Float32Array): void {
  const { nHead, nHeadKv, headDim, scale } = s;
  const group = nHead / nHeadKv;
  const kvStride = nHeadKv * headDim;
  const kCache = cacheF32(kc, (pos0 + nTokens) * kvStride);
  const vCache = cacheF32(vc, (pos0 + nTokens) * kvStride);
  const scores = new Float32Array(pos0 + nTokens);
  const qh = new Float32Array(headDim);
  for (let t = 0; t < nTokens; t++) {
    const nKv = pos0 + t + 1;
    for (let h = 0; h < nHead; h++) {
      const kvh = Math.floor(h / group);
      const qo = (t * nHead + h) * headDim;
      for (let d = 0; d < headDim; d++) qh[d] = s.f16 ? roundF16(q[qo + d]) : q[qo + d];
      let max = -Infinity;
      for (let p = 0; p < nKv; p++) {
        const ko = p * kvStride + kvh * headDim;
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += qh[d] * kCache[ko + d];
        const v = dot * scale;
        scores[p] = v;
        if (v > max) max = v;
      }
      let sum = 0;
      for (let p = 0; p < nKv; p++) {
        const e = Math.exp(scores[p] - max);
        scores[p] = e;
        sum += e;
      }
      const oo = (t * nHead + h) * headDim;
      for (let d = 0; d < headDim; d++) out[oo + d] = 0;
      for (let p = 0; p < nKv; p++) {
        const wgt = s.f16 ? roundF16(scores[p] / sum) : scores[p] / sum;
        const vo = p * kvStride + kvh * headDim;
        for (let d = 0; d < headDim; d++) out[oo + d] += wgt * vCache[vo + d];
      }
    }
  }
}
