// Attention over the KV cache, one (token, head) pair per work item (see ../../ref/attention.ts and
// ../../ref/attention-options.ts): q is [nTokens, nHead, headDim]; the caches are [rows, nHeadKv, headDim]; token t
// sits at pos0 + t. Each query sees one contiguous range of key positions [lo, hi]: hi = its own position when
// causal, else the pass's last; lo = 0, or the first position inside a sliding window (qpos - kpos < window).
// Scores may be soft-capped (cap * tanh(s / cap)) before the softmax. With a ring of `ring` rows, position p sits at
// row p % ring (the caller checks the ring still holds every position asked for).
// With f16 the query and the softmax weights are rounded to half precision, as ggml's CPU attention does.
// With kvF16 the caches hold IEEE half bits (2 bytes per value, written by storeF16), else f32.
// headDim must be a multiple of 4 (the caller falls back to the reference otherwise).

import { halvesLow, roundF16 } from './half';
import { expV, softcapV } from './ops';

/** Four cache values from element e on: four halves (8 bytes) or four floats (16 bytes). */
@inline function load4(base: usize, e: usize, kvF16: bool): v128 {
  return kvF16 ? halvesLow(v128.load64_zero(base + (e << 1))) : v128.load(base + (e << 2));
}

/**
 * One work item. `scratch` holds headDim + (hi - lo + 1) floats for this thread. window 0: none; cap 0: no
 * soft-cap; ring 0: position p at row p.
 */
export function attendOne(q: usize, k: usize, v: usize, out: usize, t: i32, h: i32, pos0: i32, nTok: i32,
  nHead: i32, nHeadKv: i32, headDim: i32, scale: f32, f16: bool, kvF16: bool,
  causal: bool, window: i32, cap: f32, ring: i32, scratch: usize): void {
  const qpos = pos0 + t;
  const hi = causal ? qpos : pos0 + nTok - 1;
  const lo = window > 0 ? max(0, qpos - window + 1) : 0;
  const nKv = hi - lo + 1;
  const row0 = ring > 0 ? lo % ring : lo;
  const kvh = h / (nHead / nHeadKv);
  const kvStride = <usize>(nHeadKv * headDim);
  const hd = <usize>headDim << 2;
  const hdE = <usize>headDim;
  const qh = scratch;
  const scores = scratch + hd;
  const qo = q + <usize>(t * nHead + h) * hd;
  for (let d: usize = 0; d < hd; d += 4) {
    const val = load<f32>(qo + d);
    store<f32>(qh + d, f16 ? roundF16(val) : val);
  }
  const kb = <usize>kvh * hdE;
  let max = -Infinity;
  let r = row0;
  for (let i = 0; i < nKv; i++) {
    const ke = kb + <usize>r * kvStride;
    if (++r == ring) r = 0;
    let acc = f32x4.splat(0);
    if (kvF16) {
      for (let d: usize = 0; d < hdE; d += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(qh + (d << 2)), load4(k, ke + d, true)));
    } else {
      for (let d: usize = 0; d < hdE; d += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(qh + (d << 2)), load4(k, ke + d, false)));
    }
    const s = f32x4.add(acc, i32x4.shuffle(acc, acc, 2, 3, 0, 1));
    const sc = (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1)) * scale;
    store<f32>(scores + (<usize>i << 2), sc);
    if (sc > max) max = sc;
  }
  if (cap != 0) {
    // soft-capped scores, four at a time (the tail lanes past nKv are scratch, computed and ignored)
    const invCap = <f32>1 / cap;
    for (let i = 0; i < nKv; i += 4) {
      const o = scores + (<usize>i << 2);
      v128.store(o, softcapV(v128.load(o), invCap, cap));
    }
    max = -Infinity;
    for (let i = 0; i < nKv; i++) {
      const sc = load<f32>(scores + (<usize>i << 2));
      if (sc > max) max = sc;
    }
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
  const vb = <usize>kvh * hdE;
  for (let d: usize = 0; d < hd; d += 16) v128.store(oo + d, f32x4.splat(0));
  r = row0;
  for (let p2 = 0; p2 < nKv; p2++) {
    let w = load<f32>(scores + (<usize>p2 << 2)) * inv;
    if (f16) w = roundF16(w);
    const ws = f32x4.splat(w);
    const ve = vb + <usize>r * kvStride;
    if (++r == ring) r = 0;
    if (kvF16) {
      for (let d: usize = 0; d < hdE; d += 4) {
        const o = oo + (d << 2);
        v128.store(o, f32x4.add(v128.load(o), f32x4.mul(ws, load4(v, ve + d, true))));
      }
    } else {
      for (let d: usize = 0; d < hdE; d += 4) {
        const o = oo + (d << 2);
        v128.store(o, f32x4.add(v128.load(o), f32x4.mul(ws, load4(v, ve + d, false))));
      }
    }
  }
}
