// Small SIMD building blocks shared by the matmul kernels.

import { BIT4, BITS, SPREAD, kv } from './consts';

/** i8x16 · i8x16 -> i32x4 partial sums (both operands signed). */
@inline export function dotI8(w: v128, x: v128): v128 {
  return i32x4.add(
    i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w), i16x8.extend_low_i8x16_s(x)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w), i16x8.extend_high_i8x16_s(x)));
}

/** i16x8 weights (already widened, possibly pre-scaled) · 16 i8 activations -> i32x4. */
@inline export function dotW16(wlo: v128, whi: v128, x: v128): v128 {
  return i32x4.add(
    i32x4.dot_i16x8_s(wlo, i16x8.extend_low_i8x16_s(x)),
    i32x4.dot_i16x8_s(whi, i16x8.extend_high_i8x16_s(x)));
}

/**
 * acc + u · x where u holds 0..127 per byte (i7) and x is signed: the relaxed-SIMD dot product.
 * Only compiled into the relaxed build.
 */
@inline export function dotU7(x: v128, u: v128, acc: v128): v128 {
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(x, u, acc);
}

@inline export function hsum(v: v128): f32 {
  const s = f32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

@inline export function hsumI(v: v128): i32 {
  const s = i32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1);
}

/** acc + f32(i) * s */
@inline export function fmaI(acc: v128, i: v128, s: f32): v128 {
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(i), f32x4.splat(s)));
}

/** Bit j (j < 16) of `bits` as 0x10 in byte j: the fifth bit of Q5_0 / Q5_1 quants. */
@inline export function fifthBits(bits: u32): v128 {
  const spread = i8x16.swizzle(i16x8.splat(<i16>bits), kv(SPREAD));
  const m = kv(BITS);
  return v128.and(i8x16.eq(v128.and(spread, m), m), kv(BIT4));
}
