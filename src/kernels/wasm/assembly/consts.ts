// Vector constants, kept in memory (512..1024, filled once per memory by initConstants) and read with a
// load where they are used. V8 rebuilds a v128.const inside a loop on every iteration, several instructions
// each; a load from L1 folds into the instruction that uses it (measured: an f16 decode loop ran 2x faster).

const BASE: usize = 512;

export const NIB = 0; // i8 0x0f
export const ONE8 = 1; // i8 1
export const THREE8 = 2; // i8 3
export const BIT4 = 3; // i8 0x10
export const SPREAD = 4; // swizzle: bytes 0..7 <- byte 0, bytes 8..15 <- byte 1
export const BITS = 5; // i8 1, 2, 4, ... 128, twice
export const OFF4 = 6; // i8 4
export const OFF8 = 7; // i8 8
export const OFF16 = 8; // i8 16
export const OFF32 = 9; // i8 32
export const H7C00 = 10; // i16 0x7c00
export const I7FFF = 11; // i32 0x7fff
export const SIGN = 12; // i32 0x80000000
export const P112 = 13; // f32 2^112
export const I7C00 = 14; // i32 0x7c00
export const INF = 15; // i32 0x7f800000
export const I8000 = 16; // i32 0x8000
export const EXP_MIN = 17; // f32 -87.3
export const EXP_MAX = 18; // f32 88.3
export const LOG2E = 19;
export const LN2_HI = 20;
export const LN2_LO = 21;
export const EXP_P0 = 22; // ... EXP_P5 = 27
export const F1 = 28; // f32 1
export const I127 = 29; // i32 127
export const I16_32 = 30; // i16 32

/** Constant `id`. */
@inline export function kv(id: i32): v128 {
  return v128.load(BASE + (<usize>id << 4));
}

/** i8 splat of the quant offset 4, 8, 16 or 32. */
@inline export function offConst(off: i32): v128 {
  return kv(off == 4 ? OFF4 : off == 8 ? OFF8 : off == 16 ? OFF16 : OFF32);
}

@inline function put(id: i32, v: v128): void {
  v128.store(BASE + (<usize>id << 4), v);
}

export function initConstants(): void {
  put(NIB, i8x16.splat(0x0f));
  put(ONE8, i8x16.splat(1));
  put(THREE8, i8x16.splat(3));
  put(BIT4, i8x16.splat(0x10));
  put(SPREAD, i8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
  put(BITS, i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128));
  put(OFF4, i8x16.splat(4));
  put(OFF8, i8x16.splat(8));
  put(OFF16, i8x16.splat(16));
  put(OFF32, i8x16.splat(32));
  put(H7C00, i16x8.splat(0x7c00));
  put(I7FFF, i32x4.splat(0x7fff));
  put(SIGN, i32x4.splat(0x80000000));
  put(P112, f32x4.splat(reinterpret<f32>(0x77800000)));
  put(I7C00, i32x4.splat(0x7c00));
  put(INF, i32x4.splat(0x7f800000));
  put(I8000, i32x4.splat(0x8000));
  put(EXP_MIN, f32x4.splat(-87.3));
  put(EXP_MAX, f32x4.splat(88.3));
  put(LOG2E, f32x4.splat(1.44269504088896341));
  put(LN2_HI, f32x4.splat(0.693359375));
  put(LN2_LO, f32x4.splat(-2.12194440e-4));
  put(EXP_P0, f32x4.splat(1.9875691500e-4));
  put(EXP_P0 + 1, f32x4.splat(1.3981999507e-3));
  put(EXP_P0 + 2, f32x4.splat(8.3334519073e-3));
  put(EXP_P0 + 3, f32x4.splat(4.1665795894e-2));
  put(EXP_P0 + 4, f32x4.splat(1.6666665459e-1));
  put(EXP_P0 + 5, f32x4.splat(5.0000001201e-1));
  put(F1, f32x4.splat(1));
  put(I127, i32x4.splat(127));
  put(I16_32, i16x8.splat(32));
}
