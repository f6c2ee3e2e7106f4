// Causal attention over the KV cache, one (token, head) pair per work item (see ../../ref/attention.ts):
// q is [nTokens, nHead, headDim]; the caches are [nCtx, nHeadKv, headDim]; token t sits at pos0 + t.
// With f16 the query and the softmax weights are rounded to half precision, as ggml's CPU attention does.
// headDim must be a multiple of 4 (the caller falls back to the reference otherwise).

import { roundF16 } from './half';
import { expV } from './ops';

/**
 * One work item. `scratch` holds headDim + nKv floats for this thread.
 */
export function attendOne(q: usize, k: usize, v: usize, out: usize, t: i32, h: i32, pos0: i32,
  nHead: i32, nHeadKv: i32, headDim: i32, scale: f32, f16: bool, scratch: usize): void {
  const nKv = pos0 + t + 1;
  const kvh = h / (nHead / nHeadKv);
  const kvStride = <usize>(nHeadKv * headDim) << 2;
  const hd = <usize>headDim << 2;
  const qh = scratch;
  const scores = scratch + hd;
  const qo = q + <usize>(t * nHead + h) * hd;
  for (let d: usize = 0; d < hd; d += 4) {
    const val = load<f32>(qo + d);
    store<f32>(qh + d, f16 ? roundF16(val) : val);
  }
  const kb = k + <usize>kvh * hd;
  let max = -Infinity;
  for (let p = 0; p < nKv; p++) {
    const kp = kb + <usize>p * kvStride;
    let acc = f32x4.splat(0);
    for (let d: usize = 0; d < hd; d += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(qh + d), v128.load(kp + d)));
    const s = f32x4.add(acc, i32x4.shuffle(acc, acc, 2, 3, 0, 1));
    const sc = (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1)) * scale;
    store<f32>(scores + (<usize>p << 2), sc);
    if (sc > max) max = sc;
  }
  // exp(score - max), four positions at a time
  let sum: f64 = 0;
  const m = f32x4.splat(<f32>max);
  let p = 0;
  for (; p + 4 <= nKv; p += 4) {
    const o = scores + (<usize>p << 2);
    const e = expV(f32x4.sub(v128.load(o), m));
    v128.store(o, e);
    sum += <f64>(f32x4.extract_lane(e, 0) + f32x4.extract_lane(e, 1)) + <f64>(f32x4.extract_lane(e, 2) + f32x4.extract_lane(e, 3));
  }
  for (; p < nKv; p++) {
    const o = scores + (<usize>p << 2);
    const e = f32x4.extract_lane(expV(f32x4.splat(load<f32>(o) - <f32>max)), 0);
    store<f32>(o, e);
    sum += e;
  }
  const inv = <f32>(1 / sum);
  const oo = out + <usize>(t * nHead + h) * hd;
  const vb = v + <usize>kvh * hd;
  for (let d: usize = 0; d < hd; d += 16) v128.store(oo + d, f32x4.splat(0));
  for (let p2 = 0; p2 < nKv; p2++) {
    let w = load<f32>(scores + (<usize>p2 << 2)) * inv;
    if (f16) w = roundF16(w);
    const ws = f32x4.splat(w);
    const vp = vb + <usize>p2 * kvStride;
    for (let d: usize = 0; d < hd; d += 16) v128.store(oo + d, f32x4.add(v128.load(oo + d), f32x4.mul(ws, v128.load(vp + d))));
  }
}
