// Matmul over Q2_K and Q3_K weights against Q8_K activations (see kquant-common.ts). Both pack 2-bit
// quants four to a byte: in each 128-element half n, element 32 s + l sits at bits 2 s of qs[32 n + l];
// Q3_K adds a third bit from hmask (bit 4 n + s of hmask[l], set meaning q >= 4). Groups are 16 elements.
//   Q2_K: x = d * sc * q - dmin * m       (4-bit sc and m per group)
//   Q3_K: x = d * (sc - 32) * (q - 4)     (6-bit sc per group)

import { loadHalf } from './half';
import { fmaI, hsum, hsumI } from './simd';
import { bsum16At, g16, offsetDot, wHi, wLo } from './kquant-common';
import { I16_32, kv } from './consts';
import { ONE8, THREE8 } from './consts';
import { BYTES_Q2_K, BYTES_Q3_K, LOG2_BLOCK_Q2_K, TYPE_Q2_K, TYPE_Q3_K } from './types.generated';

// The kind of a kernel is its weight's GGML type id; both share the 256-element super-block.
const Q2_K = TYPE_Q2_K;
const Q3_K = TYPE_Q3_K;

@inline function blockBytes(kind: i32): usize {
  return kind == Q2_K ? BYTES_Q2_K : BYTES_Q3_K;
}

/** The unsigned quants of group (s, l16) of half n: 0..3 for Q2_K, 0..7 (q + 4) for Q3_K. */
@inline function quants(kind: i32, s: i32, l16: i32, n: i32, qA: v128, qB: v128, hA: v128, hB: v128): v128 {
  const low = v128.and(i8x16.shr_u(l16 ? qB : qA, 2 * s), kv(THREE8));
  if (kind == Q2_K) return low;
  const high = v128.and(i8x16.shr_u(l16 ? hB : hA, s), kv(ONE8)); // hA, hB already shifted by 4 n
  return v128.or(low, i8x16.shl(high, 2));
}

/**
 * Scale of group 8 n + g: Q2_K's low nibble of scales[8 n + g] (at p); Q3_K's 6-bit value minus 32, byte g
 * of the half's eight unpacked scales (s8).
 */
@inline function groupScale(kind: i32, p: usize, s8: u64, n: i32, g: i32): i32 {
  if (kind == Q2_K) return <i32>load<u8>(p + <usize>(8 * n + g)) & 0xf;
  return <i32>(<i8>(s8 >> (<u64>g << 3))) - 32;
}

/**
 * Q3_K's twelve packed scale bytes at p unpacked (ggml's kmask unpacking): scales 0..7 (first half, n = 0)
 * or 8..15 (n = 1) as eight bytes, still offset by 32.
 */
@inline function scalesQ3(p: usize, n: i32): u64 {
  const a0 = load<u32>(p);
  const a1 = load<u32>(p, 4);
  const tmp = load<u32>(p, 8);
  if (n == 0) {
    return <u64>((a0 & 0x0f0f0f0f) | ((tmp & 0x03030303) << 4)) |
      (<u64>((a1 & 0x0f0f0f0f) | (((tmp >> 2) & 0x03030303) << 4)) << 32);
  }
  return <u64>(((a0 >> 4) & 0x0f0f0f0f) | (((tmp >> 4) & 0x03030303) << 4)) |
    (<u64>(((a1 >> 4) & 0x0f0f0f0f) | (((tmp >> 6) & 0x03030303) << 4)) << 32);
}

/** Q2_K: sum_g m_g * bsum_g over the sixteen groups (mins: the sixteen scale bytes; bp: the i16 bsums). */
@inline function minDot16(mins: v128, bp: usize): i32 {
  const m = i8x16.shr_u(mins, 4);
  return hsumI(i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(m), v128.load(bp)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(m), v128.load(bp, 16))));
}

/**
 * What one token subtracts for a super-block (bp: its i16 bsums): Q2_K its mins, dmin * dx * sum_g m_g *
 * bsum_g; Q3_K in the relaxed build the quant offset, d * dx * 4 * sum_g sc_g * bsum_g.
 */
@inline function minTerm(kind: i32, bp: usize, mins: v128, scLo: v128, scHi: v128, d: f32, dmin: f32, dx: f32): f32 {
  if (kind == Q2_K) return dmin * dx * <f32>minDot16(mins, bp);
  if (!ASC_FEATURE_RELAXED_SIMD) return 0;
  const corr = offsetDot(scLo, scHi, bp) << 2;
  return d * dx * <f32>corr;
}

@inline function tile(kind: i32, wr: usize, nb: i32, act: usize, as: usize, cols: i32, nt: i32, yp: usize, ys: usize): void {
  const OFF = kind == Q2_K ? 0 : 4;
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
    let hA = i32x4.splat(0);
    let hB = i32x4.splat(0);
    let qs: usize;
    if (kind == Q2_K) {
      d = loadHalf(p + 80);
      dmin = loadHalf(p + 82);
      qs = p + 16;
    } else {
      d = loadHalf(p + 108);
      hA = v128.load(p);
      hB = v128.load(p, 16);
      qs = p + 32;
    }
    // Q3_K, relaxed build: the quants stay unsigned (q + 4); 4 * sum_g sc_g * bsum_g comes off once per block
    let sc16lo = i32x4.splat(0);
    let sc16hi = i32x4.splat(0);
    if (ASC_FEATURE_RELAXED_SIMD && kind == Q3_K) {
      const sb = i64x2.replace_lane(i64x2.splat(<i64>scalesQ3(p + 96, 0)), 1, <i64>scalesQ3(p + 96, 1));
      sc16lo = i16x8.sub(i16x8.extend_low_i8x16_u(sb), kv(I16_32));
      sc16hi = i16x8.sub(i16x8.extend_high_i8x16_u(sb), kv(I16_32));
    }
    for (let n = 0; n < 2; n++) {
      if (n == 1) {
        // the second half's hmask bits are 4..7: shift once here, so every shift below is a constant
        hA = i8x16.shr_u(hA, 4);
        hB = i8x16.shr_u(hB, 4);
      }
      const qA = v128.load(qs + (<usize>n << 5));
      const qB = v128.load(qs + (<usize>n << 5), 16);
      const xn = xb + (<usize>n << 7);
      const s8 = kind == Q3_K ? scalesQ3(p + 96, n) : 0;
        {
          const q = quants(kind, 0, 0, n, qA, qB, hA, hB);
          const sc = groupScale(kind, p, s8, n, 0);
          const lo = wLo(q, OFF, sc);
          const hi = wHi(q, OFF, sc);
          const xo = xn + 0;
          i0 = g16(i0, act + xo, lo, hi, sc);
          if (nt > 1) i1 = g16(i1, act + as + xo, lo, hi, sc);
          if (nt > 2) i2 = g16(i2, act + 2 * as + xo, lo, hi, sc);
          if (nt > 3) i3 = g16(i3, act + 3 * as + xo, lo, hi, sc);
        }
        {
          const q = quants(kind, 0, 1, n, qA, qB, hA, hB);
          const sc = groupScale(kind, p, s8, n, 1);
          const lo = wLo(q, OFF, sc);
          const hi = wHi(q, OFF, sc);
          const xo = xn + 16;
          i0 = g16(i0, act + xo, lo, hi, sc);
          if (nt > 1) i1 = g16(i1, act + as + xo, lo, hi, sc);
          if (nt > 2) i2 = g16(i2, act + 2 * as + xo, lo, hi, sc);
          if (nt > 3) i3 = g16(i3, act + 3 * as + xo, lo, hi, sc);
        }
        {
          const q = quants(kind, 1, 0, n, qA, qB, hA, hB);
          const sc = groupScale(kind, p, s8, n, 2);
          const lo = wLo(q, OFF, sc);
          const hi = wHi(q, OFF, sc);
          const xo = xn + 32;
          i0 = g16(i0, act + xo, lo, hi, sc);
          if (nt > 1) i1 = g16(i1, act + as + xo, lo, hi, sc);
          if (nt > 2) i2 = g16(i2, act + 2 * as + xo, lo, hi, sc);
          if (nt > 3) i3 = g16(i3, act + 3 * as + xo, lo, hi, sc);
        }
        {
          const q = quants(kind, 1, 1, n, qA, qB, hA, hB);
          const sc = groupScale(kind, p, s8, n, 3);
          const lo = wLo(q, OFF, sc);
          const hi = wHi(q, OFF, sc);
          const xo = xn + 48;
          i0 = g16(i0, act + xo, lo, hi, sc);
          if (nt > 1) i1 = g16(i1, act + as + xo, lo, hi, sc);
          if (nt > 2) i2 = g16(i2, act + 2 * as + xo, lo, hi, sc);
          if (nt > 3) i3 = g16(i3, act + 3 * as + xo, lo, hi, sc);
        }
        {
          const q = quants(kind, 2, 0, n, qA, qB, hA, hB);
          const sc = groupScale(kind, p, s8, n, 4);
          const lo = wLo(q, OFF, sc);
          const hi = wHi(q, OFF, sc);
          const xo = xn + 64;
          i0 = g16(i0, act + xo, lo, hi, sc);
          if (nt > 1) i1 = g16(i1, act + as + xo, lo, hi, sc);
          if (nt > 2) i2 = g16(i2, act + 2 * as + xo, lo, hi, sc);
          if (nt > 3) i3 = g16(i3, act + 3 * as + xo, lo, hi, sc);
        }
        {
          const q = quants(kind, 2, 1, n, qA, qB, hA, hB);
          const sc = groupScale(kind, p, s8, n, 5);
          const lo = wLo(q, OFF, sc);
          const hi = wHi(q, OFF, sc);
          const xo = xn + 80;
          i0 = g16(i0, act + xo, lo, hi, sc);
          if (nt > 1) i1 = g16(i1, act + as + xo, lo, hi, sc);
          if (nt > 2) i2 = g16(i2, act + 2 * as + xo, lo, hi, sc);
          if (nt > 3) i3 = g16(i3, act + 3 * as + xo, lo, hi, sc);
        }
        {
          const q = quants(kind, 3, 0, n, qA, qB, hA, hB);
          const sc = groupScale(kind, p, s8, n, 6);
          const lo = wLo(q, OFF, sc);
          const hi = wHi(q, OFF, sc);
          const xo = xn + 96;
          i0 = g16(i0, act + xo, lo, hi, sc);
          if (nt > 1) i1 = g16(i1, act + as + xo, lo, hi, sc);
          if (nt > 2) i2 = g16(i2, act + 2 * as + xo, lo, hi, sc);
          if (nt > 3) i3 = g16(i3, act + 3 * as + xo, lo, hi, sc);
        }
        {
          const q = quants(kind, 3, 1, n, qA, qB, hA, hB);
          const sc = groupScale(kind, p, s8, n, 7);
          const lo = wLo(q, OFF, sc);
          const hi = wHi(q, OFF, sc);
          const xo = xn + 112;
          i0 = g16(i0, act + xo, lo, hi, sc);
          if (nt > 1) i1 = g16(i1, act + as + xo, lo, hi, sc);
          if (nt > 2) i2 = g16(i2, act + 2 * as + xo, lo, hi, sc);
          if (nt > 3) i3 = g16(i3, act + 3 * as + xo, lo, hi, sc);
        }
    }
    const db = dOff + (b << 2);
    const mb = bsum16At(cols, nb, b);
    const mins = kind == Q2_K ? v128.load(p) : i32x4.splat(0);
    const dx0 = load<f32>(act + db);
    a0 = fmaI(a0, i0, d * dx0);
    m0 += minTerm(kind, act + mb, mins, sc16lo, sc16hi, d, dmin, dx0);
    if (nt > 1) {
      const dx = load<f32>(act + as + db);
      a1 = fmaI(a1, i1, d * dx);
      m1 += minTerm(kind, act + as + mb, mins, sc16lo, sc16hi, d, dmin, dx);
    }
    if (nt > 2) {
      const dx = load<f32>(act + 2 * as + db);
      a2 = fmaI(a2, i2, d * dx);
      m2 += minTerm(kind, act + 2 * as + mb, mins, sc16lo, sc16hi, d, dmin, dx);
    }
    if (nt > 3) {
      const dx = load<f32>(act + 3 * as + db);
      a3 = fmaI(a3, i3, d * dx);
      m3 += minTerm(kind, act + 3 * as + mb, mins, sc16lo, sc16hi, d, dmin, dx);
    }
  }
  store<f32>(yp, hsum(a0) - m0);
  if (nt > 1) store<f32>(yp + ys, hsum(a1) - m1);
  if (nt > 2) store<f32>(yp + 2 * ys, hsum(a2) - m2);
  if (nt > 3) store<f32>(yp + 3 * ys, hsum(a3) - m3);
}

@inline function rowsK(kind: i32, w: usize, rb: usize, cols: i32, act: usize, as: usize, nTok: i32,
  y: usize, rows: i32, r0: i32, r1: i32): void {
  const nb = cols >> LOG2_BLOCK_Q2_K;
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

export function mmQ2_K(w: usize, rb: usize, cols: i32, act: usize, as: usize, nTok: i32, y: usize, rows: i32, r0: i32, r1: i32): void {
  rowsK(Q2_K, w, rb, cols, act, as, nTok, y, rows, r0, r1);
}
export function mmQ3_K(w: usize, rb: usize, cols: i32, act: usize, as: usize, nTok: i32, y: usize, rows: i32, r0: i32, r1: i32): void {
  rowsK(Q3_K, w, rb, cols, act, as, nTok, y, rows, r0, r1);
}
