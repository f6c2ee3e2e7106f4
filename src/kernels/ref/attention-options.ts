// Reference self-attention with the masks and score transforms newer architectures need, on the layout of
// ./attention.ts (q [nTokens, nHead, headDim], caches [nCtx, nHeadKv, headDim], token t at position pos0 + t):
//   causal (default true): key position kpos is visible to query position qpos iff kpos <= qpos; when false every
//     cached position 0 .. pos0 + nTokens - 1 is visible (bert-style encoders).
//   window: sliding-window attention, llama.cpp's LLAMA_SWA_TYPE_STANDARD (src/llama-hparams.h,
//     llama_hparams::is_masked_swa: masked iff p1 - p0 >= n_swa, p0 the key's and p1 the query's position),
//     so kpos is visible iff qpos - kpos < window; it applies on top of the causal mask, and alone when causal
//     is false (keys after the query are then visible, as in llama.cpp).
//   softcap: scores become cap * tanh(score / cap) before the softmax (gemma2's attn_logit_softcapping). The
//     score is q·k * scale: llama.cpp's gemma2 scales q first and soft-caps q·k with kq_scale 1, the same value.
// Without options this is ./attention.ts, bit for bit (a test checks it). Moves into attention.ts with its rewrite.

import { roundF16 } from '../../util/f16.ts';
import { attention, cacheF32, type AttentionShape } from './attention.ts';
import { softcapOne } from './scale.ts';

export interface AttentionOptions {
  /** Default true. */
  causal?: boolean;
  /** Sliding window in positions (llama.cpp n_swa): kpos is visible to qpos iff qpos - kpos < window. */
  window?: number;
  /** Tanh soft-capping of the scores before the softmax. */
  softcap?: number;
}

/** Whether `o` asks for nothing but plain causal attention (what ./attention.ts computes). */
export function isPlainCausal(o: AttentionOptions | undefined): boolean {
  return !o || ((o.causal ?? true) && o.window === undefined && o.softcap === undefined);
}

/**
 * Attention over f32 or f16-bits caches with options: plain causal attention runs ./attention.ts (so callers
 * without options get its results bit for bit), anything else attentionWith over the caches decoded to f32.
 */
export function attentionAny(q: Float32Array, kc: Float32Array | Uint16Array, vc: Float32Array | Uint16Array, nTokens: number,
  pos0: number, s: AttentionShape, out: Float32Array, o?: AttentionOptions): void {
  if (isPlainCausal(o)) {
    attention(q, kc, vc, nTokens, pos0, s, out);
    return;
  }
  const n = (pos0 + nTokens) * s.nHeadKv * s.headDim;
  attentionWith(q, cacheF32(kc, n), cacheF32(vc, n), nTokens, pos0, s, out, o);
}

/** Whether key position kpos is visible to query position qpos under `o`. */
export function visible(qpos: number, kpos: number, o: AttentionOptions = {}): boolean {
  if ((o.causal ?? true) && kpos > qpos) return false;
  if (o.window !== undefined && qpos - kpos >= o.window) return false;
  return true;
}

export function attentionWith(q: Float32Array, kCache: Float32Array, vCache: Float32Array, nTokens: number, pos0: number,
  s: AttentionShape, out: Float32Array, o: AttentionOptions = {}): void {
  const { nHead, nHeadKv, headDim, scale } = s;
  const group = nHead / nHeadKv;
  const kvStride = nHeadKv * headDim;
  const nAll = pos0 + nTokens;
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
