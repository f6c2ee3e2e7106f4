// Matmul over Q4_K, Q5_K and Q6_K weights against Q8_K activations (see kquant-common.ts).
// y[t, r] = sum over super-blocks of d_w * d_x * sum_g sc_g (q_g · x_g)  (- dmin * d_x * sum_g m_g * bsum_g).
// Each super-block is decoded once per tile of up to 4 tokens.

import { loadHalf } from './half';
import { fmaI, hsum } from './simd';
import { bsum16At, bsum32At, byteOf, g16, g32, minDot8, minsK4, offsetDot, scalesK4, wHi, wLo } from './kquant-common';
import { NIB, ONE8, THREE8, kv } from './consts';
import { BYTES_Q4_K, BYTES_Q5_K, BYTES_Q6_K, LOG2_BLOCK_Q4_K, TYPE_Q4_K, TYPE_Q5_K, TYPE_Q6_K } from './types.generated';

// The kind of a kernel is its weight's GGML type id; all three share the 256-element super-block.
const Q4_K = TYPE_Q4_K;
const Q5_K = TYPE_Q5_K;
const Q6_K = TYPE_Q6_K;

@inline function blockBytes(kind: i32): usize {
  return kind == Q4_K ? BYTES_Q4_K : kind == Q5_K ? BYTES_Q5_K : BYTES_Q6_K;
}

/** Q6_K: the quants of 16-group (k, l16) of a 128-element half: low nibbles from ql, top two bits from qh. */
@inline function q6(k: i32, l16: i32, qlA: v128, qlB: v128, qlC: v128, qlD: v128, qhA: v128, qhB: v128): v128 {
  const lowSrc = k & 1 ? (l16 ? qlD : qlC) : (l16 ? qlB : qlA);
  const low = k < 2 ? v128.and(lowSrc, kv(NIB)) : i8x16.shr_u(lowSrc, 4);
  const high = i8x16.shl(v128.and(i8x16.shr_u(l16 ? qhB : qhA, 2 * k), kv(THREE8)), 4);
  return v128.or(low, high);
}

/**
 * What one token subtracts for super-block b: Q4_K / Q5_K their mins, dmin * dx * sum_j m_j * bsum32_j;
 * Q6_K in the relaxed build the quant offset, d * dx * 32 * sum_g sc_g * bsum_g.
 */
@inline function minTerm(kind: i32, ap: usize, b: usize, cols: i32, nb: i32, mins: u64, p: usize, d: f32, dmin: f32, dx: f32): f32 {
  if (kind != Q6_K) return dmin * dx * <f32>minDot8(mins, ap + bsum32At(cols, nb, b));
  if (!ASC_FEATURE_RELAXED_SIMD) return 0;
  const sc = v128.load(p, 192);
  const corr = offsetDot(i16x8.extend_low_i8x16_s(sc), i16x8.extend_high_i8x16_s(sc), ap + bsum16At(cols, nb, b));
  return d * dx * <f32>(corr << 5);
}

@inline function tile(kind: i32, wr: usize, nb: i32, act: usize, as: usize, cols: i32, nt: i32, yp: usize, ys: usize): void {
  const bb = blockBytes(kind);
  const dOff = <usize>cols;
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let m0: f32 = 0;
  let m1: f32 = 0;
  let m2: f32 = 0;
  let m3: f32 = 0;
  for (let bi = 0; bi < nb; bi++) {
    const b = <usize>bi;
    const p = wr + b * bb;
    const xb = b << 8;
    let i0 = i32x4.splat(0);
    let i1 = i32x4.splat(0);
    let i2 = i32x4.splat(0);
    let i3 = i32x4.splat(0);
    let d: f32;
    let dmin: f32 = 0;
    let mins: u64 = 0;
    if (kind == Q6_K) {
      d = loadHalf(p + 208);
      for (let h: usize = 0; h < 2; h++) {
        const ql = p + (h << 6);
        const qh = p + 128 + (h << 5);
        const scp = p + 192 + (h << 3);
        const qlA = v128.load(ql);
        const qlB = v128.load(ql, 16);
        const qlC = v128.load(ql, 32);
        const qlD = v128.load(ql, 48);
        const qhA = v128.load(qh);
        const qhB = v128.load(qh, 16);
        const xh = xb + (h << 7);
        // the eight 16-groups (k, l16), unrolled so that q6 resolves at compile time
        {
          const q = q6(0, 0, qlA, qlB, qlC, qlD, qhA, qhB);
          const sc = <i32>load<i8>(scp, 0);
          const lo = wLo(q, 32, sc);
          const hi = wHi(q, 32, sc);
          const xo = xh + 0;
          i0 = g16(i0, act + xo, lo, hi, sc);
          if (nt > 1) i1 = g16(i1, act + as + xo, lo, hi, sc);
          if (nt > 2) i2 = g16(i2, act + 2 * as + xo, lo, hi, sc);
          if (nt > 3) i3 = g16(i3, act + 3 * as + xo, lo, hi, sc);
        }
        {
          const q = q6(0, 1, qlA, qlB, qlC, qlD, qhA, qhB);
          const sc = <i32>load<i8>(scp, 1);
          const lo = wLo(q, 32, sc);
          const hi = wHi(q, 32, sc);
          const xo = xh + 16;
          i0 = g16(i0, act + xo, lo, hi, sc);
          if (nt > 1) i1 = g16(i1, act + as + xo, lo, hi, sc);
          if (nt > 2) i2 = g16(i2, act + 2 * as + xo, lo, hi, sc);
          if (nt > 3) i3 = g16(i3, act + 3 * as + xo, lo, hi, sc);
        }
        {
          const q = q6(1, 0, qlA, qlB, qlC, qlD, qhA, qhB);
          const sc = <i32>load<i8>(scp, 2);
          const lo = wLo(q, 32, sc);
          const hi = wHi(q, 32, sc);
          const xo = xh + 32;
          i0 = g16(i0, act + xo, lo, hi, sc);
          if (nt > 1) i1 = g16(i1, act + as + xo, lo, hi, sc);
          if (nt > 2) i2 = g16(i2, act + 2 * as + xo, lo, hi, sc);
          if (nt > 3) i3 = g16(i3, act + 3 * as + xo, lo, hi, sc);
        }
        {
          const q = q6(1, 1, qlA, qlB, qlC, qlD, qhA, qhB);
          const sc = <i32>load<i8>(scp, 3);
          const lo = wLo(q, 32, sc);
          const hi = wHi(q, 32, sc);
          const xo = xh + 48;
          i0 = g16(i0, act + xo, lo, hi, sc);
          if (nt > 1) i1 = g16(i1, act + as + xo, lo, hi, sc);
          if (nt > 2) i2 = g16(i2, act + 2 * as + xo, lo, hi, sc);
          if (nt > 3) i3 = g16(i3, act + 3 * as + xo, lo, hi, sc);
        }
        {
          const q = q6(2, 0, qlA, qlB, qlC, qlD, qhA, qhB);
          const sc = <i32>load<i8>(scp, 4);
          const lo = wLo(q, 32, sc);
          const hi = wHi(q, 32, sc);
          const xo = xh + 64;
          i0 = g16(i0, act + xo, lo, hi, sc);
          if (nt > 1) i1 = g16(i1, act + as + xo, lo, hi, sc);
          if (nt > 2) i2 = g16(i2, act + 2 * as + xo, lo, hi, sc);
          if (nt > 3) i3 = g16(i3, act + 3 * as + xo, lo, hi, sc);
        }
        {
          const q = q6(2, 1, qlA, qlB, qlC, qlD, qhA, qhB);
          const sc = <i32>load<i8>(scp, 5);
          const lo = wLo(q, 32, sc);
          const hi = wHi(q, 32, sc);
          const xo = xh + 80;
          i0 = g16(i0, act + xo, lo, hi, sc);
          if (nt > 1) i1 = g16(i1, act + as + xo, lo, hi, sc);
          if (nt > 2) i2 = g16(i2, act + 2 * as + xo, lo, hi, sc);
          if (nt > 3) i3 = g16(i3, act + 3 * as + xo, lo, hi, sc);
        }
        {
          const q = q6(3, 0, qlA, qlB, qlC, qlD, qhA, qhB);
          const sc = <i32>load<i8>(scp, 6);
          const lo = wLo(q, 32, sc);
          const hi = wHi(q, 32, sc);
          const xo = xh + 96;
          i0 = g16(i0, act + xo, lo, hi, sc);
          if (nt > 1) i1 = g16(i1, act + as + xo, lo, hi, sc);
          if (nt > 2) i2 = g16(i2, act + 2 * as + xo, lo, hi, sc);
          if (nt > 3) i3 = g16(i3, act + 3 * as + xo, lo, hi, sc);
        }
        {
          const q = q6(3, 1, qlA, qlB, qlC, qlD, qhA, qhB);
          const sc = <i32>load<i8>(scp, 7);
          const lo = wLo(q, 32, sc);
          const hi = wHi(q, 32, sc);
          const xo = xh + 112;
          i0 = g16(i0, act + xo, lo, hi, sc);
          if (nt > 1) i1 = g16(i1, act + as + xo, lo, hi, sc);
          if (nt > 2) i2 = g16(i2, act + 2 * as + xo, lo, hi, sc);
          if (nt > 3) i3 = g16(i3, act + 3 * as + xo, lo, hi, sc);
        }
      }
    } else {
      d = loadHalf(p);
      dmin = loadHalf(p + 2);
      const scales = scalesK4(p + 4);
      mins = minsK4(p + 4);
      const qs = p + (kind == Q4_K ? 16 : 48);
      let qhA = i32x4.splat(0);
      let qhB = i32x4.splat(0);
      if (kind == Q5_K) {
        qhA = v128.load(p, 16);
        qhB = v128.load(p, 32);
      }
      for (let jj = 0; jj < 4; jj++) {
        const v0 = v128.load(qs + (<usize>jj << 5));
        const v1 = v128.load(qs + (<usize>jj << 5), 16);
        let la = v128.and(v0, kv(NIB));
        let lb = v128.and(v1, kv(NIB));
        let ha = i8x16.shr_u(v0, 4);
        let hb = i8x16.shr_u(v1, 4);
        if (kind == Q5_K) {
          // the fifth bit of group 2jj is bit 2jj of qh[l], of group 2jj + 1 bit 2jj + 1
          // qhA, qhB are shifted right by 2 after each pair, so the shifts here are constants
          la = v128.or(la, i8x16.shl(v128.and(qhA, kv(ONE8)), 4));
          lb = v128.or(lb, i8x16.shl(v128.and(qhB, kv(ONE8)), 4));
          ha = v128.or(ha, i8x16.shl(v128.and(i8x16.shr_u(qhA, 1), kv(ONE8)), 4));
          hb = v128.or(hb, i8x16.shl(v128.and(i8x16.shr_u(qhB, 1), kv(ONE8)), 4));
          qhA = i8x16.shr_u(qhA, 2);
          qhB = i8x16.shr_u(qhB, 2);
        }
        const sa = byteOf(scales, 2 * jj);
        const sb = byteOf(scales, 2 * jj + 1);
        const xa = xb + (<usize>jj << 6);
        {
          const l0 = wLo(la, 0, sa);
          const h0 = wHi(la, 0, sa);
          const l1 = wLo(lb, 0, sa);
          const h1 = wHi(lb, 0, sa);
          i0 = g32(i0, act + xa, l0, h0, l1, h1, sa);
          if (nt > 1) i1 = g32(i1, act + as + xa, l0, h0, l1, h1, sa);
          if (nt > 2) i2 = g32(i2, act + 2 * as + xa, l0, h0, l1, h1, sa);
          if (nt > 3) i3 = g32(i3, act + 3 * as + xa, l0, h0, l1, h1, sa);
        }
        {
          const l0 = wLo(ha, 0, sb);
          const h0 = wHi(ha, 0, sb);
          const l1 = wLo(hb, 0, sb);
          const h1 = wHi(hb, 0, sb);
          const xh = xa + 32;
          i0 = g32(i0, act + xh, l0, h0, l1, h1, sb);
          if (nt > 1) i1 = g32(i1, act + as + xh, l0, h0, l1, h1, sb);
          if (nt > 2) i2 = g32(i2, act + 2 * as + xh, l0, h0, l1, h1, sb);
          if (nt > 3) i3 = g32(i3, act + 3 * as + xh, l0, h0, l1, h1, sb);
        }
      }
    }
    const db = dOff + (b << 2);
    const dx0 = load<f32>(act + db);
    a0 = fmaI(a0, i0, d * dx0);
    m0 += minTerm(kind, act, b, cols, nb, mins, p, d, dmin, dx0);
    if (nt > 1) {
      const dx = load<f32>(act + as + db);
      a1 = fmaI(a1, i1, d * dx);
      m1 += minTerm(kind, act + as, b, cols, nb, mins, p, d, dmin, dx);
    }
    if (nt > 2) {
      const dx = load<f32>(act + 2 * as + db);
      a2 = fmaI(a2, i2, d * dx);
      m2 += minTerm(kind, act + 2 * as, b, cols, nb, mins, p, d, dmin, dx);
    }
    if (nt > 3) {
      const dx = load<f32>(act + 3 * as + db);
      a3 = fmaI(a3, i3, d * dx);
      m3 += minTerm(kind, act + 3 * as, b, cols, nb, mins, p, d, dmin, dx);
    }
  }
  store<f32>(yp, hsum(a0) - m0);
  if (nt > 1) store<f32>(yp + ys, hsum(a1) - m1);
  if (nt > 2) store<f32>(yp + 2 * ys, hsum(a2) - m2);
  if (nt > 3) store<f32>(yp + 3 * ys, hsum(a3) - m3);
}

@inline function rowsK(kind: i32, w: usize, rb: usize, cols: i32, act: usize, as: usize, nTok: i32,
  y: usize, rows: i32, r0: i32, r1: i32): void {
  const nb = cols >> LOG2_BLOCK_Q4_K;
  const ys = <usize>rows << 2;
  let t0 = 0;
  for (; t0 + 4 <= nTok; t0 += 4) {
    const at = act + <usize>t0 * as;
    for (let r = r0; r < r1; r++) tile(kind, w + <usize>r * rb, nb, at, as, cols, 4, y + <usize>t0 * ys + (<usize>r << 2), ys);
  }
  const rem = nTok - t0;
  const at = act + <usize>t0 * as;
  const yt = y + <usize>t0 * ys;
  if (rem == 3) for (let r = r0; r < r1; r++) tile(kind, w + <usize>r * rb, nb, at, as, cols, 3, yt + (<usize>r << 2), ys);
  else if (rem == 2) for (let r = r0; r < r1; r++) tile(kind, w + <usize>r * rb, nb, at, as, cols, 2, yt + (<usize>r << 2), ys);
  else if (rem == 1) for (let r = r0; r < r1; r++) tile(kind, w + <usize>r * rb, nb, at, as, cols, 1, yt + (<usize>r << 2), ys);
}

export function mmQ4_K(w: usize, rb: usize, cols: i32, act: usize, as: usize, nTok: i32, y: usize, rows: i32, r0: i32, r1: i32): void {
  rowsK(Q4_K, w, rb, cols, act, as, nTok, y, rows, r0, r1);
}
export function mmQ5_K(w: usize, rb: usize, cols: i32, act: usize, as: usize, nTok: i32, y: usize, rows: i32, r0: i32, r1: i32): void {
  rowsK(Q5_K, w, rb, cols, act, as, nTok, y, rows, r0, r1);
}
export function mmQ6_K(w: usize, rb: usize, cols: i32, act: usize, as: usize, nTok: i32, y: usize, rows: i32, r0: i32, r1: i32): void {
  rowsK(Q6_K, w, rb, cols, act, as, nTok, y, rows, r0, r1);
}
