// f16 / bf16 conversions, bit-exact with src/util/f16.ts (round to nearest even).

import { H7C00, I7C00, I7FFF, I8000, INF, P112, SIGN, kv } from './consts';

// Keep in step with ../abi.ts: the f16 -> f32 table the TypeScript side fills once per memory.
const HALF_TABLE: usize = 65536;

/** The half at p as f32, by table lookup (block scales: one load instead of a dozen bit operations). */
@inline export function loadHalf(p: usize): f32 {
  return load<f32>(HALF_TABLE + (<usize>load<u16>(p) << 2));
}

/** An IEEE half (in the low 16 bits) to f32: exponent and mantissa moved into place, rescaled by 2^112. */
@inline export function halfToF32(h: u32): f32 {
  const em = (h & 0x7fff) << 13;
  let f = reinterpret<f32>(em) * reinterpret<f32>(0x77800000); // 2^112 also fixes subnormals
  if ((h & 0x7c00) == 0x7c00) f = reinterpret<f32>(em | 0x7f800000); // inf / NaN
  return reinterpret<f32>(reinterpret<u32>(f) | ((h & 0x8000) << 16));
}

/** Whether any of eight halves is inf or NaN (exponent all ones): they need halvesLow / halvesHigh. */
@inline export function anyInfNaN(h: v128): bool {
  return v128.any_true(i16x8.eq(v128.and(h, kv(H7C00)), kv(H7C00)));
}

/** Eight finite halves to f32, low four lanes (zeros and subnormals exact; no inf / NaN handling). */
@inline export function finiteHalvesLow(h: v128): v128 {
  return finiteHalves4(i32x4.extend_low_i16x8_s(h));
}

@inline export function finiteHalvesHigh(h: v128): v128 {
  return finiteHalves4(i32x4.extend_high_i16x8_s(h));
}

/** w: sign-extended halves, so bit 31 is the sign. */
@inline function finiteHalves4(w: v128): v128 {
  const f = f32x4.mul(i32x4.shl(v128.and(w, kv(I7FFF)), 13), kv(P112));
  return v128.or(f, v128.and(w, kv(SIGN)));
}

/** Eight halves (one v128) to f32, low four lanes. */
@inline export function halvesLow(h: v128): v128 {
  return halves4(i32x4.extend_low_i16x8_u(h));
}

@inline export function halvesHigh(h: v128): v128 {
  return halves4(i32x4.extend_high_i16x8_u(h));
}

@inline function halves4(w: v128): v128 {
  const em = i32x4.shl(v128.and(w, kv(I7FFF)), 13);
  let f = f32x4.mul(em, kv(P112));
  const special = i32x4.eq(v128.and(w, kv(I7C00)), kv(I7C00));
  f = v128.bitselect(v128.or(em, kv(INF)), f, special);
  return v128.or(f, i32x4.shl(v128.and(w, kv(I8000)), 16));
}

/** f32 to half bits, round to nearest even (port of f32ToF16). */
export function f32ToHalf(v: f32): u32 {
  const x = reinterpret<u32>(v);
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp == 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = <i32>exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = <u32>(14 - e);
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid: u32 = 1 << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (<u32>e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;
  return sign | half;
}

/** What storing v as f16 does to it. */
export function roundF16(v: f32): f32 {
  return halfToF32(f32ToHalf(v));
}

/** What storing v as bf16 does to it (NaN made quiet, as f32ToBF16). */
export function roundBF16(v: f32): f32 {
  const x = reinterpret<u32>(v);
  if ((x & 0x7fffffff) > 0x7f800000) return reinterpret<f32>(((x >>> 16) | 0x40) << 16);
  return reinterpret<f32>(((x + (0x7fff + ((x >>> 16) & 1))) >>> 16) << 16);
}
