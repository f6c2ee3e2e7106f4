// Rotary position embedding, ported from ggml's rope (NORM and NEOX orderings, YaRN / linear scaling,
// optional per-dimension frequency factors). theta is accumulated in float32 as ggml does.

export type RopeOrder = 'norm' | 'neox';

export interface RopeParams {
  /** Rotated dimensions per head (rope.dimension_count); the rest pass through. */
  nRot: number;
  freqBase: number;
  /** 1 / linear scaling factor. */
  freqScale: number;
  order: RopeOrder;
  /** YaRN extrapolation mix (0 = off), attention factor, and the correction range. */
  extFactor: number;
  attnFactor: number;
  betaFast: number;
  betaSlow: number;
  nCtxOrig: number;
  /** Per-pair divisors of theta (rope_freqs.weight), length nRot/2, or undefined. */
  freqFactors?: Float32Array;
}

const fr = Math.fround;

function corrDim(nDims: number, nCtxOrig: number, nRot: number, base: number): number {
  return (nDims * Math.log(nCtxOrig / (nRot * 2 * Math.PI))) / (2 * Math.log(base));
}

export function yarnCorrDims(p: RopeParams): [number, number] {
  const start = Math.floor(corrDim(p.nRot, p.nCtxOrig, p.betaFast, p.freqBase));
  const end = Math.ceil(corrDim(p.nRot, p.nCtxOrig, p.betaSlow, p.freqBase));
  return [Math.max(0, start), Math.min(p.nRot - 1, end)];
}

/**
 * Cos/sin table for one position: cos[i], sin[i] for pair i in [0, nRot/2).
 */
export function ropeCache(p: RopeParams, pos: number, cos: Float32Array, sin: Float32Array): void {
  const thetaScale = fr(Math.pow(p.freqBase, -2 / p.nRot));
  const [low, high] = yarnCorrDims(p);
  let theta = fr(pos);
  for (let i0 = 0; i0 < p.nRot; i0 += 2) {
    const ff = p.freqFactors ? p.freqFactors[i0 / 2] : 1;
    const thetaExtrap = fr(theta / ff);
    const thetaInterp = fr(p.freqScale * thetaExtrap);
    let th = thetaInterp;
    let mscale = p.attnFactor;
    if (p.extFactor !== 0) {
      const y = (i0 / 2 - low) / Math.max(0.001, high - low);
      const rampMix = (1 - Math.min(1, Math.max(0, y))) * p.extFactor;
      th = thetaInterp * (1 - rampMix) + thetaExtrap * rampMix;
      mscale *= 1 + 0.1 * Math.log(1 / p.freqScale);
    }
    cos[i0 / 2] = Math.cos(th) * mscale;
    sin[i0 / 2] = Math.sin(th) * mscale;
    theta = fr(theta * thetaScale);
  }
}

/**
 * Rotate x in place: x is [nTokens, nHead, headDim]; positions[t] is the position of token t.
 */
export function rope(x: Float32Array, nTokens: number, nHead: number, headDim: number, positions: ArrayLike<number>, p: RopeParams): void {
  const half = p.nRot / 2;
  const cos = new Float32Array(half);
  const sin = new Float32Array(half);
  for (let t = 0; t < nTokens; t++) {
    ropeCache(p, positions[t], cos, sin);
    for (let h = 0; h < nHead; h++) {
      const o = (t * nHead + h) * headDim;
      for (let i = 0; i < half; i++) {
        // NORM rotates adjacent pairs (2i, 2i+1); NEOX rotates (i, i + nRot/2).
        const a = p.order === 'norm' ? o + 2 * i : o + i;
        const b = p.order === 'norm' ? a + 1 : a + half;
        const x0 = x[a];
        const x1 = x[b];
        x[a] = x0 * cos[i] - x1 * sin[i];
        x[b] = x0 * sin[i] + x1 * cos[i];
      }
    }
  }
}
