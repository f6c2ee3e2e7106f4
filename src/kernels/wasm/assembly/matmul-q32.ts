// Matmul over the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) against Q8 activations
// (see quantize.ts): y[t, r] = sum_b dw * dx * (q_w · q_x) (+ m * dx * sum(q_x) for the _1 types).
// Each weight block is decoded once per tile of up to 4 tokens (tile4 for full tiles, tile for the rest).
// Plain SIMD128 widens to i16 and uses i32x4.dot_i16x8_s. The relaxed build keeps the weight quants
// unsigned (0..31, valid i7) for i32x4.relaxed_dot_i8x16_i7x16_add_s and subtracts their offset with the
// activation block sum; Q8_0 moves the weight's sign onto the activation (|w| <= 127 as ggml writes it).

import { loadHalf } from './half';
import { dotI8, dotU7, fifthBits, fmaI, hsum } from './simd';
import { q8Pad, q8Transposed } from './quantize';
import { NIB, kv, offConst } from './consts';
import {
  BYTES_Q4_0, BYTES_Q4_1, BYTES_Q5_0, BYTES_Q5_1, BYTES_Q8_0, LOG2_BLOCK_Q8_0,
  TYPE_Q4_0, TYPE_Q4_1, TYPE_Q5_0, TYPE_Q5_1, TYPE_Q8_0,
} from './types.generated';

// The kind of a kernel is its weight's GGML type id; all five share the 32-element block of Q8_0.
const Q4_0 = TYPE_Q4_0;
const Q4_1 = TYPE_Q4_1;
const Q5_0 = TYPE_Q5_0;
const Q5_1 = TYPE_Q5_1;
const Q8_0 = TYPE_Q8_0;

@inline function blockBytes(kind: i32): usize {
  return kind == Q4_0 ? BYTES_Q4_0 : kind == Q4_1 ? BYTES_Q4_1 : kind == Q5_0 ? BYTES_Q5_0 : kind == Q5_1 ? BYTES_Q5_1 : BYTES_Q8_0;
}

/** The offset subtracted from the unsigned quants (Q4_0: 8, Q5_0: 16); the _1 types add a min instead. */
@inline function quantOffset(kind: i32): i32 {
  return kind == Q4_0 ? 8 : kind == Q5_0 ? 16 : 0;
}

@inline function hasMin(kind: i32): bool {
  return kind == Q4_1 || kind == Q5_1;
}

/**
 * x negated in the bytes where m is all ones (m: 0 or -1 per byte): (x ^ m) - m, two ALU ops where
 * bitselect(neg(x), x, m) lowers to four or five on x64 (x is never -128, so nothing wraps).
 */
@inline function negWhere(x: v128, m: v128): v128 {
  return i8x16.sub(v128.xor(x, m), m);
}

/**
 * x0 · u0 + x1 · u1 for unsigned quants u <= 31 (the 4- and 5-bit types): the i8 x i7 pair sums of both
 * halves fit in i16 (4 * 31 * 127 < 2^15), so they are added there and widened once.
 */
@inline function dotSmall(x0: v128, u0: v128, x1: v128, u1: v128): v128 {
  return i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, u0), i16x8.relaxed_dot_i8x16_i7x16_s(x1, u1)));
}

/** One token's contribution of one block: acc + f32(q_w · q_x) * dw * dx. */
@inline function tok(kind: i32, acc: v128, ap: usize, b: usize, dOff: usize, sOff: usize,
  wl: v128, wh: v128, sl: v128, sh: v128, dw: f32): v128 {
  const xp = ap + (b << 5);
  let x0 = v128.load(xp);
  let x1 = v128.load(xp, 16);
  const dx = load<f32>(ap + dOff + (b << 2));
  let ip: v128;
  if (ASC_FEATURE_RELAXED_SIMD) {
    if (kind == Q8_0) {
      x0 = negWhere(x0, sl);
      x1 = negWhere(x1, sh);
      ip = dotU7(x0, wl, dotU7(x1, wh, i32x4.splat(0)));
    } else {
      const off = quantOffset(kind);
      const init = off ? i32x4.replace_lane(i32x4.splat(0), 0, -off * load<i32>(ap + sOff + (b << 2))) : i32x4.splat(0);
      ip = i32x4.add(init, dotSmall(x0, wl, x1, wh));
    }
  } else {
    ip = i32x4.add(dotI8(wl, x0), dotI8(wh, x1));
  }
  return fmaI(acc, ip, dw * dx);
}

/** One token's min term of one block (_1 types): m * s, s the activation block's Q8_1 sum (see quantize.ts). */
@inline function minTerm(ap: usize, b: usize, s1Off: usize, m: f32): f32 {
  return m * load<f32>(ap + s1Off + (b << 2));
}

/** Dot of one weight row with nt (1..4) consecutive token rows; writes y[t * rows + r] via yp + t * ys. */
@inline function tile(kind: i32, wr: usize, nb: i32, act: usize, as: usize, cols: i32, nt: i32, yp: usize, ys: usize): void {
  const bb = blockBytes(kind);
  const off = quantOffset(kind);
  const dOff = <usize>cols;
  const sOff = dOff + (<usize>nb << 2);
  const s1Off = sOff + (<usize>nb << 2);
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
    const dw = loadHalf(p);
    let m: f32 = 0;
    let wl: v128;
    let wh: v128;
    let sl = i32x4.splat(0);
    let sh = i32x4.splat(0);
    if (kind == Q8_0) {
      wl = v128.load(p, 2);
      wh = v128.load(p, 18);
      if (ASC_FEATURE_RELAXED_SIMD) {
        sl = i8x16.lt_s(wl, i8x16.splat(0));
        sh = i8x16.lt_s(wh, i8x16.splat(0));
        wl = i8x16.abs(wl);
        wh = i8x16.abs(wh);
      }
    } else {
      const qs = p + (kind == Q4_0 ? 2 : kind == Q4_1 ? 4 : kind == Q5_0 ? 6 : 8);
      const v = v128.load(qs);
      wl = v128.and(v, kv(NIB));
      wh = i8x16.shr_u(v, 4);
      if (kind == Q5_0 || kind == Q5_1) {
        const qh = load<u32>(p + (kind == Q5_0 ? 2 : 4));
        wl = v128.or(wl, fifthBits(qh & 0xffff));
        wh = v128.or(wh, fifthBits(qh >>> 16));
      }
      if (hasMin(kind)) m = loadHalf(p + 2);
      if (!ASC_FEATURE_RELAXED_SIMD && off) {
        wl = i8x16.sub(wl, offConst(off));
        wh = i8x16.sub(wh, offConst(off));
      }
    }
    a0 = tok(kind, a0, act, b, dOff, sOff, wl, wh, sl, sh, dw);
    if (hasMin(kind)) m0 += minTerm(act, b, s1Off, m);
    if (nt > 1) {
      a1 = tok(kind, a1, act + as, b, dOff, sOff, wl, wh, sl, sh, dw);
      if (hasMin(kind)) m1 += minTerm(act + as, b, s1Off, m);
    }
    if (nt > 2) {
      a2 = tok(kind, a2, act + 2 * as, b, dOff, sOff, wl, wh, sl, sh, dw);
      if (hasMin(kind)) m2 += minTerm(act + 2 * as, b, s1Off, m);
    }
    if (nt > 3) {
      a3 = tok(kind, a3, act + 3 * as, b, dOff, sOff, wl, wh, sl, sh, dw);
      if (hasMin(kind)) m3 += minTerm(act + 3 * as, b, s1Off, m);
    }
  }
  store<f32>(yp, hsum(a0) + m0);
  if (nt > 1) store<f32>(yp + ys, hsum(a1) + m1);
  if (nt > 2) store<f32>(yp + 2 * ys, hsum(a2) + m2);
  if (nt > 3) store<f32>(yp + 3 * ys, hsum(a3) + m3);
}

/** One token's integer dot with one decoded block (no offset correction, no scale). */
@inline function tokInt(kind: i32, xp: usize, wl: v128, wh: v128, sl: v128, sh: v128): v128 {
  let x0 = v128.load(xp);
  let x1 = v128.load(xp, 16);
  if (ASC_FEATURE_RELAXED_SIMD) {
    if (kind == Q8_0) {
      x0 = negWhere(x0, sl);
      x1 = negWhere(x1, sh);
    }
    return kind == Q8_0 ? dotU7(x0, wl, dotU7(x1, wh, i32x4.splat(0))) : dotSmall(x0, wl, x1, wh);
  }
  return i32x4.add(dotI8(wl, x0), dotI8(wh, x1));
}

/** [sum(p0), sum(p1), sum(p2), sum(p3)]: four i32x4 reduced and transposed into one. */
@inline function reduce4(p0: v128, p1: v128, p2: v128, p3: v128): v128 {
  const a = i32x4.add(i32x4.shuffle(p0, p1, 0, 1, 4, 5), i32x4.shuffle(p0, p1, 2, 3, 6, 7));
  const b = i32x4.add(i32x4.shuffle(p2, p3, 0, 1, 4, 5), i32x4.shuffle(p2, p3, 2, 3, 6, 7));
  return i32x4.add(i32x4.shuffle(a, b, 0, 2, 4, 6), i32x4.shuffle(a, b, 1, 3, 5, 7));
}

/**
 * One weight row against four tokens, the four tokens' block sums kept in the lanes of one vector: per
 * block, four integer dots are reduced into one i32x4, converted once and scaled by dw times the four
 * tokens' dx (read transposed, one load).
 */
@inline function tile4(kind: i32, wr: usize, nb: i32, act: usize, as: usize, t0: i32, dT: usize, pad: usize, yp: usize, ys: usize,
  two: bool): void {
  const bb = blockBytes(kind);
  const off = quantOffset(kind);
  const sT = dT + ((<usize>nb * pad) << 2);
  const mT = sT + ((<usize>nb * pad) << 2);
  let acc = f32x4.splat(0);
  let macc = f32x4.splat(0);
  let acc2 = f32x4.splat(0);
  let macc2 = f32x4.splat(0);
  for (let bi = 0; bi < nb; bi++) {
    const b = <usize>bi;
    const p = wr + b * bb;
    const dw = loadHalf(p);
    let wl: v128;
    let wh: v128;
    let sl = i32x4.splat(0);
    let sh = i32x4.splat(0);
    if (kind == Q8_0) {
      wl = v128.load(p, 2);
      wh = v128.load(p, 18);
      if (ASC_FEATURE_RELAXED_SIMD) {
        sl = i8x16.lt_s(wl, i8x16.splat(0));
        sh = i8x16.lt_s(wh, i8x16.splat(0));
        wl = i8x16.abs(wl);
        wh = i8x16.abs(wh);
      }
    } else {
      const v = v128.load(p + (kind == Q4_0 ? 2 : kind == Q4_1 ? 4 : kind == Q5_0 ? 6 : 8));
      wl = v128.and(v, kv(NIB));
      wh = i8x16.shr_u(v, 4);
      if (kind == Q5_0 || kind == Q5_1) {
        const qh = load<u32>(p + (kind == Q5_0 ? 2 : 4));
        wl = v128.or(wl, fifthBits(qh & 0xffff));
        wh = v128.or(wh, fifthBits(qh >>> 16));
      }
      if (!ASC_FEATURE_RELAXED_SIMD && off) {
        wl = i8x16.sub(wl, offConst(off));
        wh = i8x16.sub(wh, offConst(off));
      }
    }
    const xo = b << 5;
    let s = reduce4(
      tokInt(kind, act + xo, wl, wh, sl, sh),
      tokInt(kind, act + as + xo, wl, wh, sl, sh),
      tokInt(kind, act + 2 * as + xo, wl, wh, sl, sh),
      tokInt(kind, act + 3 * as + xo, wl, wh, sl, sh));
    const ti = (b * pad + <usize>t0) << 2;
    if (ASC_FEATURE_RELAXED_SIMD && off) s = i32x4.sub(s, i32x4.shl(v128.load(sT + ti), off == 8 ? 3 : 4));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.mul(v128.load(dT + ti), f32x4.splat(dw))));
    if (hasMin(kind)) macc = f32x4.add(macc, f32x4.mul(v128.load(mT + ti), f32x4.splat(loadHalf(p + 2))));
    if (two) {
      const a4 = act + 4 * as + xo;
      let s2 = reduce4(
        tokInt(kind, a4, wl, wh, sl, sh),
        tokInt(kind, a4 + as, wl, wh, sl, sh),
        tokInt(kind, a4 + 2 * as, wl, wh, sl, sh),
        tokInt(kind, a4 + 3 * as, wl, wh, sl, sh));
      const t2 = ti + 16;
      if (ASC_FEATURE_RELAXED_SIMD && off) s2 = i32x4.sub(s2, i32x4.shl(v128.load(sT + t2), off == 8 ? 3 : 4));
      acc2 = f32x4.add(acc2, f32x4.mul(f32x4.convert_i32x4_s(s2), f32x4.mul(v128.load(dT + t2), f32x4.splat(dw))));
      if (hasMin(kind)) macc2 = f32x4.add(macc2, f32x4.mul(v128.load(mT + t2), f32x4.splat(loadHalf(p + 2))));
    }
  }
  if (hasMin(kind)) acc = f32x4.add(acc, macc);
  store<f32>(yp, f32x4.extract_lane(acc, 0));
  store<f32>(yp + ys, f32x4.extract_lane(acc, 1));
  store<f32>(yp + 2 * ys, f32x4.extract_lane(acc, 2));
  store<f32>(yp + 3 * ys, f32x4.extract_lane(acc, 3));
  if (two) {
    if (hasMin(kind)) acc2 = f32x4.add(acc2, macc2);
    store<f32>(yp + 4 * ys, f32x4.extract_lane(acc2, 0));
    store<f32>(yp + 5 * ys, f32x4.extract_lane(acc2, 1));
    store<f32>(yp + 6 * ys, f32x4.extract_lane(acc2, 2));
    store<f32>(yp + 7 * ys, f32x4.extract_lane(acc2, 3));
  }
}

/** One block's integer dot with one token's block at xp (relaxed: unsigned quants, offset not taken out). */
@inline function blockInt(kind: i32, p: usize, xp: usize): v128 {
  let x0 = v128.load(xp);
  let x1 = v128.load(xp, 16);
  if (kind == Q8_0) {
    const wl = v128.load(p, 2);
    const wh = v128.load(p, 18);
    if (ASC_FEATURE_RELAXED_SIMD) {
      x0 = negWhere(x0, i8x16.lt_s(wl, i8x16.splat(0)));
      x1 = negWhere(x1, i8x16.lt_s(wh, i8x16.splat(0)));
      return dotU7(x0, i8x16.abs(wl), dotU7(x1, i8x16.abs(wh), i32x4.splat(0)));
    }
    return i32x4.add(dotI8(wl, x0), dotI8(wh, x1));
  }
  const v = v128.load(p + (kind == Q4_0 ? 2 : kind == Q4_1 ? 4 : kind == Q5_0 ? 6 : 8));
  let wl = v128.and(v, kv(NIB));
  let wh = i8x16.shr_u(v, 4);
  if (kind == Q5_0 || kind == Q5_1) {
    const qh = load<u32>(p + (kind == Q5_0 ? 2 : 4));
    wl = v128.or(wl, fifthBits(qh & 0xffff));
    wh = v128.or(wh, fifthBits(qh >>> 16));
  }
  if (ASC_FEATURE_RELAXED_SIMD) return dotSmall(x0, wl, x1, wh);
  const off = quantOffset(kind);
  if (off) {
    wl = i8x16.sub(wl, offConst(off));
    wh = i8x16.sub(wh, offConst(off));
  }
  return i32x4.add(dotI8(wl, x0), dotI8(wh, x1));
}

/** The f16 fields at p, p + bb, p + 2 bb, p + 3 bb as f32x4. */
@inline function halves4At(p: usize, bb: usize): v128 {
  let v = f32x4.splat(loadHalf(p));
  v = f32x4.replace_lane(v, 1, loadHalf(p + bb));
  v = f32x4.replace_lane(v, 2, loadHalf(p + 2 * bb));
  return f32x4.replace_lane(v, 3, loadHalf(p + 3 * bb));
}

/**
 * One row against one token (decode): four blocks at a time, their integer dots reduced into one vector,
 * converted once and scaled by the four dw (gathered) times the four dx (contiguous in the token's row).
 */
@inline function rowDecode(kind: i32, wr: usize, nb: i32, ap: usize, cols: i32, yp: usize): void {
  const bb = blockBytes(kind);
  const off = quantOffset(kind);
  const dOff = <usize>cols;
  const sOff = dOff + (<usize>nb << 2);
  let acc = f32x4.splat(0);
  let macc = f32x4.splat(0);
  let bi = 0;
  for (; bi + 4 <= nb; bi += 4) {
    const b = <usize>bi;
    const p = wr + b * bb;
    const xp = ap + (b << 5);
    let s = reduce4(blockInt(kind, p, xp), blockInt(kind, p + bb, xp + 32), blockInt(kind, p + 2 * bb, xp + 64),
      blockInt(kind, p + 3 * bb, xp + 96));
    if (ASC_FEATURE_RELAXED_SIMD && off) s = i32x4.sub(s, i32x4.shl(v128.load(ap + sOff + (b << 2)), off == 8 ? 3 : 4));
    const dx = v128.load(ap + dOff + (b << 2));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.mul(halves4At(p, bb), dx)));
    if (hasMin(kind)) {
      // s of four blocks: the array after the sums
      macc = f32x4.add(macc, f32x4.mul(halves4At(p + 2, bb), v128.load(ap + sOff + (<usize>nb << 2) + (b << 2))));
    }
  }
  let sum = hsum(f32x4.add(acc, macc));
  for (; bi < nb; bi++) {
    const b = <usize>bi;
    const p = wr + b * bb;
    let ip = blockInt(kind, p, ap + (b << 5));
    if (ASC_FEATURE_RELAXED_SIMD && off) ip = i32x4.sub(ip, i32x4.replace_lane(i32x4.splat(0), 0, off * load<i32>(ap + sOff + (b << 2))));
    sum += hsum(f32x4.convert_i32x4_s(ip)) * loadHalf(p) * load<f32>(ap + dOff + (b << 2));
    if (hasMin(kind)) sum += minTerm(ap, b, sOff + (<usize>nb << 2), loadHalf(p + 2));
  }
  store<f32>(yp, sum);
}

/** Rows [r0, r1) for every token: tiles of 4 tokens, then the remainder. */
@inline function rowsQ32(kind: i32, w: usize, rb: usize, cols: i32, act: usize, as: usize, nTok: i32,
  y: usize, rows: i32, r0: i32, r1: i32): void {
  const nb = cols >> LOG2_BLOCK_Q8_0;
  const ys = <usize>rows << 2;
  const dT = q8Transposed(act, as, nTok);
  const pad = q8Pad(nTok);
  let t0 = 0;
  for (; t0 + 8 <= nTok; t0 += 8) {
    const at = act + <usize>t0 * as;
    for (let r = r0; r < r1; r++) tile4(kind, w + <usize>r * rb, nb, at, as, t0, dT, pad, y + <usize>t0 * ys + (<usize>r << 2), ys, true);
  }
  for (; t0 + 4 <= nTok; t0 += 4) {
    const at = act + <usize>t0 * as;
    for (let r = r0; r < r1; r++) tile4(kind, w + <usize>r * rb, nb, at, as, t0, dT, pad, y + <usize>t0 * ys + (<usize>r << 2), ys, false);
  }
  const rem = nTok - t0;
  const at = act + <usize>t0 * as;
  const yt = y + <usize>t0 * ys;
  if (rem == 3) for (let r = r0; r < r1; r++) tile(kind, w + <usize>r * rb, nb, at, as, cols, 3, yt + (<usize>r << 2), ys);
  else if (rem == 2) for (let r = r0; r < r1; r++) tile(kind, w + <usize>r * rb, nb, at, as, cols, 2, yt + (<usize>r << 2), ys);
  else if (rem == 1) for (let r = r0; r < r1; r++) rowDecode(kind, w + <usize>r * rb, nb, at, cols, yt + (<usize>r << 2));
}

export function mmQ4_0(w: usize, rb: usize, cols: i32, act: usize, as: usize, nTok: i32, y: usize, rows: i32, r0: i32, r1: i32): void {
  rowsQ32(Q4_0, w, rb, cols, act, as, nTok, y, rows, r0, r1);
}
export function mmQ4_1(w: usize, rb: usize, cols: i32, act: usize, as: usize, nTok: i32, y: usize, rows: i32, r0: i32, r1: i32): void {
  rowsQ32(Q4_1, w, rb, cols, act, as, nTok, y, rows, r0, r1);
}
export function mmQ5_0(w: usize, rb: usize, cols: i32, act: usize, as: usize, nTok: i32, y: usize, rows: i32, r0: i32, r1: i32): void {
  rowsQ32(Q5_0, w, rb, cols, act, as, nTok, y, rows, r0, r1);
}
export function mmQ5_1(w: usize, rb: usize, cols: i32, act: usize, as: usize, nTok: i32, y: usize, rows: i32, r0: i32, r1: i32): void {
  rowsQ32(Q5_1, w, rb, cols, act, as, nTok, y, rows, r0, r1);
}
export function mmQ8_0(w: usize, rb: usize, cols: i32, act: usize, as: usize, nTok: i32, y: usize, rows: i32, r0: i32, r1: i32): void {
  rowsQ32(Q8_0, w, rb, cols, act, as, nTok, y, rows, r0, r1);
}
