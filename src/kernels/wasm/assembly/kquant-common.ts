// Pieces shared by the K-quant matmul kernels (weights in 256-element super-blocks, activations Q8_K:
// per token i8 qs[cols] | f32 d[nb] | i32 bsum[16 nb] | i16 bsum[16 nb] | i16 bsum32[8 nb], see quantize.ts).
// A super-block's integer dot is accumulated per token in i32x4 lanes, group by group with the group's
// scale, then scaled once by d_w * d_x. Plain SIMD128 widens the weights to i16 and multiplies in the scale
// once per group (shared by every token of the tile); the relaxed build keeps the quants unsigned (i7) for
// relaxed_dot and multiplies each token's group sum by the scale: the i8 x i7 pair sums stay in i16 (quants
// <= 63, |x| <= 127, at most four products per i16 lane: below 2^15), and i32x4.dot_i16x8_s with the
// splatted scale both widens and scales them, one instruction instead of a widening dot and an i32 multiply.

import { dotW16, hsumI } from './simd';
import { offConst } from './consts';

/** Plain path: the low eight of (q - off) * sc as i16x8. Relaxed path: q itself. */
@inline export function wLo(q: v128, off: i32, sc: i32): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return q;
  const w = off ? i8x16.sub(q, offConst(off)) : q;
  return i16x8.mul(i16x8.extend_low_i8x16_s(w), i16x8.splat(<i16>sc));
}

/** Plain path: the high eight of (q - off) * sc. Relaxed path: unused. */
@inline export function wHi(q: v128, off: i32, sc: i32): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return q;
  const w = off ? i8x16.sub(q, offConst(off)) : q;
  return i16x8.mul(i16x8.extend_high_i8x16_s(w), i16x8.splat(<i16>sc));
}

/**
 * it + sc * sum((q - off) * x) over one 16-group at xp. The relaxed path leaves the offset in (it works on
 * the unsigned q): the caller takes off * sum_g sc_g * bsum_g out once per super-block (offsetDot).
 */
@inline export function g16(it: v128, xp: usize, lo: v128, hi: v128, sc: i32): v128 {
  const x = v128.load(xp);
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.add(it, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(x, lo), i16x8.splat(<i16>sc)));
  return i32x4.add(it, dotW16(lo, hi, x));
}

/** sum_g sc_g * bsum_g over sixteen 16-groups: scales as two i16x8, bp: the token's i16 bsums of the block. */
@inline export function offsetDot(scLo: v128, scHi: v128, bp: usize): i32 {
  return hsumI(i32x4.add(i32x4.dot_i16x8_s(scLo, v128.load(bp)), i32x4.dot_i16x8_s(scHi, v128.load(bp, 16))));
}

/** it + sc * sum(q * x) over a 32-group of unsigned quants (two 16s, one scale). */
@inline export function g32(it: v128, xp: usize, lo0: v128, hi0: v128, lo1: v128, hi1: v128, sc: i32): v128 {
  const x0 = v128.load(xp);
  const x1 = v128.load(xp, 16);
  if (ASC_FEATURE_RELAXED_SIMD) {
    const s = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, lo0), i16x8.relaxed_dot_i8x16_i7x16_s(x1, lo1));
    return i32x4.add(it, i32x4.dot_i16x8_s(s, i16x8.splat(<i16>sc)));
  }
  return i32x4.add(it, i32x4.add(dotW16(lo0, hi0, x0), dotW16(lo1, hi1, x1)));
}

/**
 * Scales and mins of Q4_K / Q5_K (12 packed bytes at p, 6 bits each) as two u64 of eight bytes:
 * byte j of the first is scale j, of the second min j (ggml's kmask unpacking).
 */
@inline export function scalesK4(p: usize): u64 {
  const u0 = load<u32>(p);
  const u2 = load<u32>(p, 8);
  const lo = u0 & 0x3f3f3f3f;
  const hi = (u2 & 0x0f0f0f0f) | (((u0 >> 6) & 0x03030303) << 4);
  return <u64>lo | (<u64>hi << 32);
}

@inline export function minsK4(p: usize): u64 {
  const u0 = load<u32>(p);
  const u1 = load<u32>(p, 4);
  const u2 = load<u32>(p, 8);
  const lo = u1 & 0x3f3f3f3f;
  const hi = ((u2 >> 4) & 0x0f0f0f0f) | (((u1 >> 6) & 0x03030303) << 4);
  return <u64>lo | (<u64>hi << 32);
}

/** Byte j of a u64. */
@inline export function byteOf(v: u64, j: i32): i32 {
  return <i32>((v >> (<u64>j << 3)) & 0xff);
}

/** sum_j min_j * bsum32[j] for the eight 32-groups of Q4_K / Q5_K; bp: the block's i16 bsum32. */
@inline export function minDot8(mins: u64, bp: usize): i32 {
  return hsumI(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(i64x2.splat(<i64>mins)), v128.load(bp)));
}

/** Offsets in a Q8_K token row, for super-block b of nb: the i16 bsums and the i16 bsum32s. */
@inline export function bsum16At(cols: i32, nb: i32, b: usize): usize {
  return <usize>cols + (<usize>nb << 2) + (<usize>nb << 6) + (b << 5);
}

@inline export function bsum32At(cols: i32, nb: i32, b: usize): usize {
  return <usize>cols + (<usize>nb << 2) + (<usize>nb << 6) + (<usize>nb << 5) + (b << 4);
}
