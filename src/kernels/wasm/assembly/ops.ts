// Element-wise and normalisation kernels (single-threaded; called on the main thread between matmuls)
// and the vectorised exp they and attention share.

import { EXP_MAX, EXP_MIN, EXP_P0, F1, I127, LN2_HI, LN2_LO, LOG2E, kv } from './consts';

/**
 * e^x on four lanes (Cephes expf: range reduction by ln 2, degree-6 polynomial), within about 2 ulp.
 * Inputs are clamped to [-87.3, 88.3] so 2^n stays a normal float: e^-87.3 is 1e-38, not 0.
 */
@inline export function expV(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, kv(EXP_MIN)), kv(EXP_MAX));
  const n = f32x4.nearest(f32x4.mul(x, kv(LOG2E)));
  let r = f32x4.sub(x, f32x4.mul(n, kv(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, kv(LN2_LO)));
  let p = kv(EXP_P0);
  p = f32x4.add(f32x4.mul(p, r), kv(EXP_P0 + 1));
  p = f32x4.add(f32x4.mul(p, r), kv(EXP_P0 + 2));
  p = f32x4.add(f32x4.mul(p, r), kv(EXP_P0 + 3));
  p = f32x4.add(f32x4.mul(p, r), kv(EXP_P0 + 4));
  p = f32x4.add(f32x4.mul(p, r), kv(EXP_P0 + 5));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), kv(F1));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), kv(I127)), 23);
  return f32x4.mul(p, scale);
}

/** out[t] = x[t] / rms(x[t]) * weight; the sum of squares in f64, as the reference. */
export function rmsNorm(x: usize, weight: usize, eps: f64, n: i32, nTok: i32, out: usize): void {
  for (let t = 0; t < nTok; t++) {
    const xr = x + (<usize>t * <usize>n << 2);
    const or = out + (<usize>t * <usize>n << 2);
    let ss: f64 = 0;
    for (let i = 0; i < n; i++) {
      const v = <f64>load<f32>(xr + (<usize>i << 2));
      ss += v * v;
    }
    const scale = 1 / Math.sqrt(ss / n + eps);
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(or + o, <f32>(<f64>load<f32>(xr + o) * scale * <f64>load<f32>(weight + o)));
    }
  }
}

/** gate = silu(gate) * up, n elements. */
export function swiglu(gate: usize, up: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(gate + o);
    const e = expV(f32x4.neg(g));
    v128.store(gate + o, f32x4.mul(f32x4.div(g, f32x4.add(kv(F1), e)), v128.load(up + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(gate + o);
    const e = f32x4.extract_lane(expV(f32x4.splat(-g)), 0);
    store<f32>(gate + o, g / (1 + e) * load<f32>(up + o));
  }
}

/** a += b, n elements. */
export function add(a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(a + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(a + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/** x[t] += bias for every token row of n. */
export function addBias(x: usize, bias: usize, n: i32, nTok: i32): void {
  for (let t = 0; t < nTok; t++) add(x + (<usize>t * <usize>n << 2), bias, n);
}
