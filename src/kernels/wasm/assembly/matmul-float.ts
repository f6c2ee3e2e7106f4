// Matmul over F32, F16 and BF16 weights against f32 activations (already rounded to the weight's
// vec_dot_type by the caller for F16 / BF16). Eight columns per step, up to four tokens per weight pass;
// a tail of cols % 8 is done one column at a time.

import { anyInfNaN, finiteHalvesHigh, finiteHalvesLow, halfToF32, halvesHigh, halvesLow } from './half';
import { hsum } from './simd';
import { TYPE_BF16, TYPE_F16, TYPE_F32 } from './types.generated';

// The kind of a kernel is its weight's GGML type id.
const F32 = TYPE_F32;
const F16 = TYPE_F16;
const BF16 = TYPE_BF16;

/** F32 / BF16 weights c..c+3 (lo) and c+4..c+7 (hi) of a row at wr, as f32x4. */
@inline function loadLo(kind: i32, wr: usize, c: usize): v128 {
  if (kind == F32) return v128.load(wr + (c << 2));
  return i32x4.shl(i32x4.extend_low_i16x8_u(v128.load(wr + (c << 1))), 16);
}

@inline function loadHi(kind: i32, wr: usize, c: usize): v128 {
  if (kind == F32) return v128.load(wr + (c << 2), 16);
  return i32x4.shl(i32x4.extend_high_i16x8_u(v128.load(wr + (c << 1))), 16);
}

@inline function loadOne(kind: i32, wr: usize, c: usize): f32 {
  if (kind == F32) return load<f32>(wr + (c << 2));
  const h = <u32>load<u16>(wr + (c << 1));
  if (kind == F16) return halfToF32(h);
  return reinterpret<f32>(h << 16);
}

@inline function fma2(acc: v128, lo: v128, hi: v128, xp: usize): v128 {
  return f32x4.add(acc, f32x4.add(f32x4.mul(lo, v128.load(xp)), f32x4.mul(hi, v128.load(xp, 16))));
}

@inline function tile(kind: i32, wr: usize, cols: i32, x: usize, xs: usize, nt: i32, yp: usize, ys: usize): void {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  const n8 = <usize>(cols & ~7);
  for (let c: usize = 0; c < n8; c += 8) {
    let lo: v128;
    let hi: v128;
    if (kind == F16) {
      // the cheap conversion unless a lane is inf or NaN (never, in practice)
      const h = v128.load(wr + (c << 1));
      const special = anyInfNaN(h);
      lo = special ? halvesLow(h) : finiteHalvesLow(h);
      hi = special ? halvesHigh(h) : finiteHalvesHigh(h);
    } else {
      lo = loadLo(kind, wr, c);
      hi = loadHi(kind, wr, c);
    }
    const xo = c << 2;
    a0 = fma2(a0, lo, hi, x + xo);
    if (nt > 1) a1 = fma2(a1, lo, hi, x + xs + xo);
    if (nt > 2) a2 = fma2(a2, lo, hi, x + 2 * xs + xo);
    if (nt > 3) a3 = fma2(a3, lo, hi, x + 3 * xs + xo);
  }
  let s0 = hsum(a0);
  let s1 = hsum(a1);
  let s2 = hsum(a2);
  let s3 = hsum(a3);
  for (let c = n8; c < <usize>cols; c++) {
    const wv = loadOne(kind, wr, c);
    const xo = c << 2;
    s0 += wv * load<f32>(x + xo);
    if (nt > 1) s1 += wv * load<f32>(x + xs + xo);
    if (nt > 2) s2 += wv * load<f32>(x + 2 * xs + xo);
    if (nt > 3) s3 += wv * load<f32>(x + 3 * xs + xo);
  }
  store<f32>(yp, s0);
  if (nt > 1) store<f32>(yp + ys, s1);
  if (nt > 2) store<f32>(yp + 2 * ys, s2);
  if (nt > 3) store<f32>(yp + 3 * ys, s3);
}

/** The weights c..c+7 of a row as two f32x4 (F16 by its cheap conversion unless a lane is inf or NaN). */
@inline function load8Lo(kind: i32, wr: usize, c: usize): v128 {
  if (kind == F16) {
    const h = v128.load(wr + (c << 1));
    return anyInfNaN(h) ? halvesLow(h) : finiteHalvesLow(h);
  }
  return loadLo(kind, wr, c);
}

@inline function load8Hi(kind: i32, wr: usize, c: usize): v128 {
  if (kind == F16) {
    const h = v128.load(wr + (c << 1));
    return anyInfNaN(h) ? halvesHigh(h) : finiteHalvesHigh(h);
  }
  return loadHi(kind, wr, c);
}

/**
 * Two rows (wr, wr + rb) by four tokens: each activation load serves both rows. Every output is summed in
 * the same order as tile() sums it, so the result is bit-identical to two tile() calls.
 */
@inline function tile2x4(kind: i32, wr: usize, rb: usize, cols: i32, x: usize, xs: usize, yp: usize, ys: usize): void {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0);
  let b1 = f32x4.splat(0);
  let b2 = f32x4.splat(0);
  let b3 = f32x4.splat(0);
  const wr2 = wr + rb;
  const n8 = <usize>(cols & ~7);
  for (let c: usize = 0; c < n8; c += 8) {
    const lo = load8Lo(kind, wr, c);
    const hi = load8Hi(kind, wr, c);
    const lo2 = load8Lo(kind, wr2, c);
    const hi2 = load8Hi(kind, wr2, c);
    const xo = c << 2;
    let p = x + xo;
    let xl = v128.load(p);
    let xh = v128.load(p, 16);
    a0 = f32x4.add(a0, f32x4.add(f32x4.mul(lo, xl), f32x4.mul(hi, xh)));
    b0 = f32x4.add(b0, f32x4.add(f32x4.mul(lo2, xl), f32x4.mul(hi2, xh)));
    p += xs;
    xl = v128.load(p);
    xh = v128.load(p, 16);
    a1 = f32x4.add(a1, f32x4.add(f32x4.mul(lo, xl), f32x4.mul(hi, xh)));
    b1 = f32x4.add(b1, f32x4.add(f32x4.mul(lo2, xl), f32x4.mul(hi2, xh)));
    p += xs;
    xl = v128.load(p);
    xh = v128.load(p, 16);
    a2 = f32x4.add(a2, f32x4.add(f32x4.mul(lo, xl), f32x4.mul(hi, xh)));
    b2 = f32x4.add(b2, f32x4.add(f32x4.mul(lo2, xl), f32x4.mul(hi2, xh)));
    p += xs;
    xl = v128.load(p);
    xh = v128.load(p, 16);
    a3 = f32x4.add(a3, f32x4.add(f32x4.mul(lo, xl), f32x4.mul(hi, xh)));
    b3 = f32x4.add(b3, f32x4.add(f32x4.mul(lo2, xl), f32x4.mul(hi2, xh)));
  }
  let s0 = hsum(a0);
  let s1 = hsum(a1);
  let s2 = hsum(a2);
  let s3 = hsum(a3);
  let t0 = hsum(b0);
  let t1 = hsum(b1);
  let t2 = hsum(b2);
  let t3 = hsum(b3);
  for (let c = n8; c < <usize>cols; c++) {
    const wv = loadOne(kind, wr, c);
    const wv2 = loadOne(kind, wr2, c);
    const xo = c << 2;
    const x0 = load<f32>(x + xo);
    const x1 = load<f32>(x + xs + xo);
    const x2 = load<f32>(x + 2 * xs + xo);
    const x3 = load<f32>(x + 3 * xs + xo);
    s0 += wv * x0;
    s1 += wv * x1;
    s2 += wv * x2;
    s3 += wv * x3;
    t0 += wv2 * x0;
    t1 += wv2 * x1;
    t2 += wv2 * x2;
    t3 += wv2 * x3;
  }
  store<f32>(yp, s0);
  store<f32>(yp + ys, s1);
  store<f32>(yp + 2 * ys, s2);
  store<f32>(yp + 3 * ys, s3);
  store<f32>(yp + 4, t0);
  store<f32>(yp + ys + 4, t1);
  store<f32>(yp + 2 * ys + 4, t2);
  store<f32>(yp + 3 * ys + 4, t3);
}

@inline function rowsF(kind: i32, w: usize, rb: usize, cols: i32, x: usize, xs: usize, nTok: i32,
  y: usize, rows: i32, r0: i32, r1: i32): void {
  const ys = <usize>rows << 2;
  let t0 = 0;
  for (; t0 + 4 <= nTok; t0 += 4) {
    const xt = x + <usize>t0 * xs;
    const yt = y + <usize>t0 * ys;
    let r = r0;
    for (; r + 2 <= r1; r += 2) tile2x4(kind, w + <usize>r * rb, rb, cols, xt, xs, yt + (<usize>r << 2), ys);
    if (r < r1) tile(kind, w + <usize>r * rb, cols, xt, xs, 4, yt + (<usize>r << 2), ys);
  }
  const rem = nTok - t0;
  const xt = x + <usize>t0 * xs;
  const yt = y + <usize>t0 * ys;
  if (rem == 3) for (let r = r0; r < r1; r++) tile(kind, w + <usize>r * rb, cols, xt, xs, 3, yt + (<usize>r << 2), ys);
  else if (rem == 2) for (let r = r0; r < r1; r++) tile(kind, w + <usize>r * rb, cols, xt, xs, 2, yt + (<usize>r << 2), ys);
  else if (rem == 1) for (let r = r0; r < r1; r++) tile(kind, w + <usize>r * rb, cols, xt, xs, 1, yt + (<usize>r << 2), ys);
}

export function mmF32(w: usize, rb: usize, cols: i32, x: usize, xs: usize, nTok: i32, y: usize, rows: i32, r0: i32, r1: i32): void {
  rowsF(F32, w, rb, cols, x, xs, nTok, y, rows, r0, r1);
}
export function mmF16(w: usize, rb: usize, cols: i32, x: usize, xs: usize, nTok: i32, y: usize, rows: i32, r0: i32, r1: i32): void {
  rowsF(F16, w, rb, cols, x, xs, nTok, y, rows, r0, r1);
}
export function mmBF16(w: usize, rb: usize, cols: i32, x: usize, xs: usize, nTok: i32, y: usize, rows: i32, r0: i32, r1: i32): void {
  rowsF(BF16, w, rb, cols, x, xs, nTok, y, rows, r0, r1);
}
