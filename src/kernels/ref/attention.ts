// Reference causal self-attention over a KV cache with grouped-query heads.
// q is [nTokens, nHead, headDim]; the caches are [nCtx, nHeadKv, headDim]; token t sits at position pos0 + t
// and attends to cache positions 0..pos0+t. With `f16` the query and the softmax weights are rounded to
// half precision before their products with the f16 cache, as ggml's CPU attention does.

import { roundF16 } from '../../util/f16.ts';

export interface AttentionShape {
  nHead: number;
  nHeadKv: number;
  headDim: number;
  scale: number;
  f16: boolean;
}

export function attention(q: Float32Array, kCache: Float32Array, vCache: Float32Array, nTokens: number, pos0: number,
  s: AttentionShape, out: Float32Array): void {
  const { nHead, nHeadKv, headDim, scale } = s;
  const group = nHead / nHeadKv;
  const kvStride = nHeadKv * headDim;
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
