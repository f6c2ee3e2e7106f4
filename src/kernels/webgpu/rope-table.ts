// The cos/sin table the RoPE shader reads: [nTok, nRot/2] pairs, computed on the CPU with the reference's
// ropeCache so the angles are exactly ggml's (theta accumulated by float32 products, YaRN mixing, frequency
// factors). A few hundred floats per token.

import { ropeCache, type RopeParams } from '../ref/rope.ts';

export function ropeTable(p: RopeParams, positions: ArrayLike<number>): Float32Array {
  const half = p.nRot / 2;
  const cos = new Float32Array(half);
  const sin = new Float32Array(half);
  const out = new Float32Array(positions.length * half * 2);
  for (let t = 0; t < positions.length; t++) {
    ropeCache(p, positions[t], cos, sin);
    for (let i = 0; i < half; i++) {
      out[2 * (t * half + i)] = cos[i];
      out[2 * (t * half + i) + 1] = sin[i];
    }
  }
  return out;
}
