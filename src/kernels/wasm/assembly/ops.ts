// Element-wise and normalisation kernels (single-threaded; called on the main thread between matmuls): rmsnorm,
// layernorm, swiglu, gelu (tanh and erf), geglu, add, addBias, scale, softcap,
// and the vectorised exp and tanh they and attention share.

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

/**
 * out[t] = (x[t] - mean) / sqrt(var + eps) * weight + bias (weight, bias: 0 for none), the steps of the reference
 * (ref/layer-norm.ts): sums in f64 in the same order, every other step rounded to f32, so the result is identical.
 */
export function layerNorm(x: usize, weight: usize, bias: usize, eps: f32, n: i32, nTok: i32, out: usize): void {
  for (let t = 0; t < nTok; t++) {
    const xr = x + (<usize>t * <usize>n << 2);
    const or = out + (<usize>t * <usize>n << 2);
    let sum: f64 = 0;
    for (let i = 0; i < n; i++) sum += <f64>load<f32>(xr + (<usize>i << 2));
    const mean = <f32>(<f64><f32>sum / <f64>n);
    let ss: f64 = 0;
    for (let i = 0; i < n; i++) {
      const v = <f64>(load<f32>(xr + (<usize>i << 2)) - mean);
      ss += v * v;
    }
    const scale: f32 = <f32>1 / <f32>Math.sqrt(<f64>(<f32>(ss / <f64>n) + eps));
    const m = f32x4.splat(mean);
    const s = f32x4.splat(scale);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      let y = f32x4.mul(f32x4.sub(v128.load(xr + o), m), s);
      if (weight) y = f32x4.mul(y, v128.load(weight + o));
      if (bias) y = f32x4.add(y, v128.load(bias + o));
      v128.store(or + o, y);
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      let y = (load<f32>(xr + o) - mean) * scale;
      if (weight) y *= load<f32>(weight + o);
      if (bias) y += load<f32>(bias + o);
      store<f32>(or + o, y);
    }
  }
}

/**
 * tanh on four lanes: (e^(2x) - 1) / (e^(2x) + 1), ±1 at the clamped ends. Near -1 this keeps tanh within about an
 * ulp (the form 1 - 2 / (e^(2x) + 1) loses a few), which matters for 1 + tanh in gelu's negative tail.
 */
@inline function tanhV(x: v128): v128 {
  const e = expV(f32x4.add(x, x));
  return f32x4.div(f32x4.sub(e, kv(F1)), f32x4.add(e, kv(F1)));
}

/** ggml_gelu_f32 on four lanes (the tanh form, f32 steps). */
@inline function geluV(x: v128): v128 {
  const a = f32x4.mul(f32x4.mul(f32x4.splat(0.044715), x), x);
  const inner = f32x4.mul(f32x4.mul(f32x4.splat(0.7978845608028654), x), f32x4.add(kv(F1), a));
  return f32x4.mul(f32x4.mul(f32x4.splat(0.5), x), f32x4.add(kv(F1), tanhV(inner)));
}

/**
 * What storing four lanes as f16 does to them (half.ts roundF16, lane by lane, without the calls): normal
 * halves keep 10 mantissa bits, rounded to nearest even in the f32 bits; below 2^-14 (half subnormals) the
 * step is 2^-24, which adding and taking away 0.75 (whose f32 ulp is 2^-24) rounds to, evenly as well; from
 * 65520 on the half is infinite; NaN stays NaN.
 */
@inline function roundF16V(x: v128): v128 {
  const odd = v128.and(i32x4.shr_u(x, 13), i32x4.splat(1));
  const normal = v128.and(i32x4.add(i32x4.add(x, i32x4.splat(0x0fff)), odd), i32x4.splat(~0x1fff));
  const a = f32x4.abs(x);
  const sign = v128.and(x, i32x4.splat(0x80000000));
  const small = v128.or(f32x4.sub(f32x4.add(a, f32x4.splat(0.75)), f32x4.splat(0.75)), sign);
  let r = v128.bitselect(small, normal, f32x4.lt(a, f32x4.splat(6.103515625e-5)));
  r = v128.bitselect(v128.or(f32x4.splat(Infinity), sign), r, f32x4.ge(a, f32x4.splat(65520)));
  return v128.bitselect(x, r, f32x4.ne(x, x));
}

/**
 * The tanh GELU of four lanes as ggml's CPU table gives it (ref/gelu.ts): the input and the result rounded to
 * f16, 0 at or below -10 and x at or above 10.
 */
@inline function geluTableV(x: v128): v128 {
  const g = geluV(roundF16V(x));
  const r = roundF16V(g);
  const lo = f32x4.le(x, f32x4.splat(-10));
  const hi = f32x4.ge(x, f32x4.splat(10));
  return v128.bitselect(x, v128.andnot(r, lo), hi);
}

/** x = gelu(x), tanh form with ggml's f16 rounding, n elements. */
export function gelu(x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(x + o, geluTableV(v128.load(x + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(x + o, f32x4.extract_lane(geluTableV(f32x4.splat(load<f32>(x + o))), 0));
  }
}

/** gate = gelu(gate) * up (tanh form, ggml's f16 rounding), n elements. */
export function geglu(gate: usize, up: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(gate + o);
    const u = v128.load(up + o);
    // at or below -10 the product is +0 whatever the sign of up, as ggml writes it
    const lo = f32x4.le(g, f32x4.splat(-10));
    v128.store(gate + o, v128.andnot(f32x4.mul(geluTableV(g), u), lo));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(gate + o);
    store<f32>(gate + o, g <= -10 ? 0 : f32x4.extract_lane(geluTableV(f32x4.splat(g)), 0) * load<f32>(up + o));
  }
}

/**
 * 1 + erf(x) on four lanes from erfc (Abramowitz & Stegun 7.1.26, |error| <= 1.5e-7): with z = |x| and
 * t = 1 / (1 + p z), erfc(z) ~ t (a1 + t (a2 + ...)) e^(-z^2); 1 + erf(x) is 2 - erfc(z) for x >= 0, erfc(z) below.
 */
@inline function onePlusErfV(x: v128): v128 {
  const z = f32x4.abs(x);
  const t = f32x4.div(kv(F1), f32x4.add(kv(F1), f32x4.mul(f32x4.splat(0.3275911), z)));
  let p = f32x4.splat(1.061405429);
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-1.453152027));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(1.421413741));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-0.284496736));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.254829592));
  const erfc = f32x4.mul(f32x4.mul(p, t), expV(f32x4.neg(f32x4.mul(z, z))));
  return v128.bitselect(erfc, f32x4.sub(f32x4.splat(2), erfc), f32x4.lt(x, f32x4.splat(0)));
}

@inline function geluErfV(x: v128): v128 {
  return f32x4.mul(f32x4.mul(f32x4.splat(0.5), x), onePlusErfV(f32x4.mul(x, f32x4.splat(0.7071067811865476))));
}

/** x = 0.5 x (1 + erf(x / sqrt 2)), n elements (ggml_gelu_erf). */
export function geluErf(x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(x + o, geluErfV(v128.load(x + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(x + o, f32x4.extract_lane(geluErfV(f32x4.splat(load<f32>(x + o))), 0));
  }
}

/**
 * tanh on four lanes to a few ulp everywhere (the conformance bound is in ../extra-ops.test.ts): for |x| < 0.4 the
 * odd Taylor series to x^13 (truncation below 2^-27 relative there), else tanhV, whose e^(2x) - 1 no longer cancels
 * much (about 4 ulp at 0.4, fewer beyond). tanhV alone loses relative precision as x goes to 0, which a soft-cap of
 * small scores (s / 50) would feel.
 */
@inline export function tanhAccV(x: v128): v128 {
  const x2 = f32x4.mul(x, x);
  let p = f32x4.splat(<f32>(21844.0 / 6081075.0));
  p = f32x4.sub(f32x4.mul(p, x2), f32x4.splat(<f32>(1382.0 / 155925.0)));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(<f32>(62.0 / 2835.0)));
  p = f32x4.sub(f32x4.mul(p, x2), f32x4.splat(<f32>(17.0 / 315.0)));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(<f32>(2.0 / 15.0)));
  p = f32x4.sub(f32x4.mul(p, x2), f32x4.splat(<f32>(1.0 / 3.0)));
  const small = f32x4.add(x, f32x4.mul(f32x4.mul(x, x2), p));
  return v128.bitselect(small, tanhV(x), f32x4.lt(f32x4.abs(x), f32x4.splat(0.4)));
}

/** cap * tanh(x * invCap) on four lanes, the f32 steps of ggml's scale -> tanh -> scale. */
@inline export function softcapV(x: v128, invCap: f32, cap: f32): v128 {
  return f32x4.mul(tanhAccV(f32x4.mul(x, f32x4.splat(invCap))), f32x4.splat(cap));
}

/** x = x * s, n elements (ggml_scale). */
export function scale(x: usize, s: f32, n: i32): void {
  const sv = f32x4.splat(s);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(x + o, f32x4.mul(v128.load(x + o), sv));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(x + o, load<f32>(x + o) * s);
  }
}

/** x = cap * tanh(x / cap), n elements (invCap = 1 / cap rounded to f32, as the reference). */
export function softcap(x: usize, invCap: f32, cap: f32, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(x + o, softcapV(v128.load(x + o), invCap, cap));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(x + o, f32x4.extract_lane(softcapV(f32x4.splat(load<f32>(x + o)), invCap, cap), 0));
  }
}
