// Weight encoders: f32 rows to the packed blocks of Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q4_0, Q4_1, Q5_0, Q5_1
// and Q8_0, byte for byte what the TypeScript reference encoders (src/quant/ref/<type>.ts) write. The
// reference rounds each float step with Math.fround; here the same steps run in native f32 (the K-quant
// scale searches on four groups at once, one per SIMD lane; see kquant-search.ts), in the same order, which
// rounds identically (layouts: see the reference files). Called from ../weight-encoder.ts on
// chunks of whole rows; blocks never straddle rows, so a chunk of rows is encoded as one run of blocks.
// `scratch` is SCRATCH_BYTES of caller-owned memory (this module has no static data).

import { f32ToHalf, halfToF32 } from './half';
import { GROUP_MAX_EPS, TENTH, clampI, makeQ3x4, makeQkx2x4, makeQxx4, nearestInt } from './kquant-search';
import {
  BYTES_Q2_K, BYTES_Q3_K, BYTES_Q4_0, BYTES_Q4_1, BYTES_Q4_K, BYTES_Q5_0, BYTES_Q5_1, BYTES_Q5_K, BYTES_Q6_K,
  BYTES_Q8_0, TYPE_Q2_K, TYPE_Q3_K, TYPE_Q4_0, TYPE_Q4_1, TYPE_Q4_K, TYPE_Q5_0, TYPE_Q5_1, TYPE_Q5_K, TYPE_Q6_K,
  TYPE_Q8_0,
} from './types.generated';

// Scratch layout (bytes); keep SCRATCH_BYTES in step with ../weight-encoder.ts.
const S_L: usize = 0; // u8 / i8 L[256]: the quants of one super-block
const S_SCALES: usize = 576; // f32 [16]
const S_MINS: usize = 640; // f32 [16]
const S_LS: usize = 704; // u8 [8]: 6-bit scales
const S_LM: usize = 720; // u8 [8]: 6-bit mins
// the four-lane searches' arrays: v128 [32] each (element i of four groups), and their result
const S_XT: usize = 1024;
const S_WT: usize = 1536;
const S_LT: usize = 2048;
const S_LAUXT: usize = 2560;
const S_XMT: usize = 3072;
const S_OUT: usize = 3584;
export const SCRATCH_BYTES: usize = 4096;

@inline function ldf(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

@inline function stf(p: usize, i: i32, v: f32): void {
  store<f32>(p + (<usize>i << 2), v);
}

@inline function lu8(p: usize, i: i32): i32 {
  return <i32>load<u8>(p + <usize>i);
}

/** Store v rounded to f16 at p and return the value read back (what the reference's readHalf then sees). */
@inline function putHalf(p: usize, v: f32): f32 {
  const h = f32ToHalf(v);
  store<u16>(p, <u16>h);
  return halfToF32(h);
}

/**
 * Encode n values at x (n a multiple of the type's block size) into dst. Returns 0, or -1 for a type
 * without an encoder here.
 */
export function quantizeWeights(type: i32, x: usize, n: i32, dst: usize, scratch: usize): i32 {
  switch (type) {
    case TYPE_Q2_K: { for (let b = 0; b < (n >> 8); b++) q2K(x + (<usize>b << 10), dst + <usize>b * BYTES_Q2_K, scratch); break; }
    case TYPE_Q3_K: { for (let b = 0; b < (n >> 8); b++) q3K(x + (<usize>b << 10), dst + <usize>b * BYTES_Q3_K, scratch); break; }
    case TYPE_Q4_K: { for (let b = 0; b < (n >> 8); b++) q4K(x + (<usize>b << 10), dst + <usize>b * BYTES_Q4_K, scratch); break; }
    case TYPE_Q5_K: { for (let b = 0; b < (n >> 8); b++) q5K(x + (<usize>b << 10), dst + <usize>b * BYTES_Q5_K, scratch); break; }
    case TYPE_Q6_K: { for (let b = 0; b < (n >> 8); b++) q6K(x + (<usize>b << 10), dst + <usize>b * BYTES_Q6_K, scratch); break; }
    case TYPE_Q4_0: { for (let b = 0; b < (n >> 5); b++) q4_0(x + (<usize>b << 7), dst + <usize>b * BYTES_Q4_0); break; }
    case TYPE_Q4_1: { for (let b = 0; b < (n >> 5); b++) q4_1(x + (<usize>b << 7), dst + <usize>b * BYTES_Q4_1); break; }
    case TYPE_Q5_0: { for (let b = 0; b < (n >> 5); b++) q5_0(x + (<usize>b << 7), dst + <usize>b * BYTES_Q5_0); break; }
    case TYPE_Q5_1: { for (let b = 0; b < (n >> 5); b++) q5_1(x + (<usize>b << 7), dst + <usize>b * BYTES_Q5_1); break; }
    case TYPE_Q8_0: { for (let b = 0; b < (n >> 5); b++) q8_0(x + (<usize>b << 7), dst + <usize>b * BYTES_Q8_0); break; }
    default: return -1;
  }
  return 0;
}

/** Groups 4b..4b+3 of n elements at x side by side into the scratch's xt: v128 i holds element i of each. */
function gatherGroups(x: usize, s: usize, b: i32, n: i32): void {
  for (let k = 0; k < 4; k++) {
    const g = x + (<usize>(((b << 2) + k) * n) << 2);
    for (let i = 0; i < n; i++) stf(s + S_XT, (i << 2) + k, ldf(g, i));
  }
}

/**
 * A four-lane search's results for groups 4b..4b+3 of n elements: scales (and mins, when not 0) from the
 * scratch's out, the i32 lanes of Lt as u8 quants into L[].
 */
function takeGroups(s: usize, b: i32, n: i32, scales: usize, mins: usize, L: usize): void {
  for (let k = 0; k < 4; k++) {
    const g = (b << 2) + k;
    stf(scales, g, ldf(s + S_OUT, k));
    if (mins) stf(mins, g, ldf(s + S_OUT, 4 + k));
    for (let i = 0; i < n; i++) store<u8>(L + <usize>(g * n + i), <u8>load<i32>(s + S_LT + (<usize>i << 4) + (<usize>k << 2)));
  }
}

/** 256 2-bit values (u8 L) packed 4 per byte, strided by 32 within each 128 (Q2_K and Q3_K). */
function packTwoBit(L: usize, q: usize): void {
  for (let j = 0; j < 256; j += 128) {
    for (let l = 0; l < 32; l++) {
      const e = j + l;
      store<u8>(q + <usize>((j >> 2) + l),
        <u8>(lu8(L, e) | (lu8(L, e + 32) << 2) | (lu8(L, e + 64) << 4) | (lu8(L, e + 96) << 6)));
    }
  }
}

// block_q2_K: u8 scales[16] (sc low nibble, m high), u8 qs[64], f16 d @80, f16 dmin @82.
function q2K(x: usize, o: usize, s: usize): void {
  const L = s + S_L;
  const scales = s + S_SCALES;
  const mins = s + S_MINS;
  let maxScale: f32 = 0;
  let maxMin: f32 = 0;
  for (let b = 0; b < 4; b++) {
    // groups 4b..4b+3 side by side, weights |x|
    gatherGroups(x, s, b, 16);
    for (let i = 0; i < 16; i++) v128.store(s + S_WT + (<usize>i << 4), f32x4.abs(v128.load(s + S_XT + (<usize>i << 4))));
    makeQkx2x4(16, 3, s + S_XT, s + S_WT, s + S_LT, s + S_LAUXT, s + S_XMT, -0.5, TENTH, 15, true, s + S_OUT);
    takeGroups(s, b, 16, scales, mins, L);
  }
  for (let j = 0; j < 16; j++) {
    const sc = ldf(scales, j);
    const m = ldf(mins, j);
    if (sc > maxScale) maxScale = sc;
    if (m > maxMin) maxMin = m;
  }
  let dAll: f32 = 0;
  if (maxScale > 0) {
    const iscale: f32 = <f32>15 / maxScale;
    for (let j = 0; j < 16; j++) store<u8>(o + <usize>j, <u8>nearestInt(iscale * ldf(scales, j)));
    dAll = putHalf(o + 80, maxScale / 15);
  } else {
    memory.fill(o, 0, 16);
    store<u16>(o + 80, 0);
  }
  let mAll: f32 = 0;
  if (maxMin > 0) {
    const iscale: f32 = <f32>15 / maxMin;
    for (let j = 0; j < 16; j++) {
      store<u8>(o + <usize>j, <u8>(lu8(o, j) | (nearestInt(iscale * ldf(mins, j)) << 4)));
    }
    mAll = putHalf(o + 82, maxMin / 15);
  } else {
    store<u16>(o + 82, 0);
  }
  // requantize against the scales as stored
  for (let j = 0; j < 16; j++) {
    const sm = lu8(o, j);
    const d = dAll * <f32>(sm & 0xf);
    if (d == 0) continue;
    const dm = mAll * <f32>(sm >> 4);
    for (let ii = 0; ii < 16; ii++) {
      const e = (j << 4) + ii;
      store<u8>(L + <usize>e, <u8>clampI(nearestInt((ldf(x, e) + dm) / d), 0, 3));
    }
  }
  packTwoBit(L, o + 16);
}

/** Q3_K scale j (0..15), still offset by 32, from the 12 packed bytes at q. */
@inline function q3kScale(q: usize, j: i32): i32 {
  const low = j < 8 ? lu8(q, j) & 0xf : lu8(q, j - 8) >> 4;
  return low | (((lu8(q, 8 + (j & 3)) >> (2 * (j >> 2))) & 3) << 4);
}

// block_q3_K: u8 hmask[32], u8 qs[64] @32, u8 scales[12] @96, f16 d @108.
function q3K(x: usize, o: usize, s: usize): void {
  const L = s + S_L;
  const scales = s + S_SCALES;
  let maxScale: f32 = 0;
  let amax: f32 = 0;
  for (let b = 0; b < 4; b++) {
    gatherGroups(x, s, b, 16);
    makeQ3x4(16, 4, s + S_XT, s + S_LT, s + S_OUT);
    takeGroups(s, b, 16, scales, 0, L);
  }
  for (let j = 0; j < 16; j++) {
    const sc = ldf(scales, j);
    const a = Mathf.abs(sc);
    if (a > amax) { amax = a; maxScale = sc; }
  }
  const qs = o + 96;
  memory.fill(qs, 0, 12);
  let dAll: f32 = 0;
  if (maxScale != 0) {
    const iscale: f32 = <f32>-32 / maxScale;
    for (let j = 0; j < 16; j++) {
      const l = clampI(<i32><i8>nearestInt(iscale * ldf(scales, j)), -32, 31) + 32;
      if (j < 8) store<u8>(qs + <usize>j, <u8>(l & 0xf));
      else store<u8>(qs + <usize>(j - 8), <u8>(lu8(qs, j - 8) | ((l & 0xf) << 4)));
      const k = 8 + (j & 3);
      store<u8>(qs + <usize>k, <u8>(lu8(qs, k) | ((l >> 4) << (2 * (j >> 2)))));
    }
    dAll = putHalf(o + 108, 1 / iscale);
  } else {
    store<u16>(o + 108, 0);
  }
  for (let j = 0; j < 16; j++) {
    const d = dAll * <f32>(q3kScale(qs, j) - 32);
    if (d == 0) continue;
    for (let ii = 0; ii < 16; ii++) {
      const e = (j << 4) + ii;
      store<u8>(L + <usize>e, <u8>(clampI(nearestInt(ldf(x, e) / d), -4, 3) + 4));
    }
  }
  // the high bit of quant e goes to bit e / 32 of hmask[e % 32]
  memory.fill(o, 0, 32);
  for (let j = 0; j < 256; j++) {
    const l = <i32>load<i8>(L + <usize>j);
    if (l > 3) {
      store<u8>(o + <usize>(j & 31), <u8>(lu8(o, j & 31) | (1 << (j >> 5))));
      store<u8>(L + <usize>j, <u8>(l - 4));
    }
  }
  packTwoBit(L, o + 32);
}

/**
 * The part Q4_K and Q5_K share: each 32-group's scale and min searched, the block header (f16 d, f16 dmin,
 * 12 bytes of 6-bit scales and mins) stored at o, then x requantized against the stored scales into L.
 */
function scaleMinLevels(x: usize, o: usize, s: usize, nmax: i32, rmin: f32, nstep: i32): void {
  const L = s + S_L;
  const scales = s + S_SCALES;
  const mins = s + S_MINS;
  let maxScale: f32 = 0;
  let maxMin: f32 = 0;
  const n32 = f32x4.splat(32);
  for (let b = 0; b < 2; b++) {
    // groups 4b..4b+3 side by side; weights |x| plus the group's RMS
    let sumX2 = f32x4.splat(0);
    gatherGroups(x, s, b, 32);
    for (let i = 0; i < 32; i++) {
      const xi = v128.load(s + S_XT + (<usize>i << 4));
      sumX2 = f32x4.add(sumX2, f32x4.mul(xi, xi));
    }
    const avX = f32x4.sqrt(f32x4.div(sumX2, n32));
    for (let i = 0; i < 32; i++) {
      v128.store(s + S_WT + (<usize>i << 4), f32x4.add(avX, f32x4.abs(v128.load(s + S_XT + (<usize>i << 4)))));
    }
    makeQkx2x4(32, nmax, s + S_XT, s + S_WT, s + S_LT, s + S_LAUXT, s + S_XMT, rmin, TENTH, nstep, false, s + S_OUT);
    takeGroups(s, b, 32, scales, mins, L);
  }
  for (let j = 0; j < 8; j++) {
    const sc = ldf(scales, j);
    const m = ldf(mins, j);
    if (sc > maxScale) maxScale = sc;
    if (m > maxMin) maxMin = m;
  }
  const invScale: f32 = maxScale > 0 ? <f32>63 / maxScale : 0;
  const invMin: f32 = maxMin > 0 ? <f32>63 / maxMin : 0;
  const ls = s + S_LS;
  const lm = s + S_LM;
  for (let j = 0; j < 8; j++) {
    store<u8>(ls + <usize>j, <u8>min(63, nearestInt(invScale * ldf(scales, j)) & 0xff));
    store<u8>(lm + <usize>j, <u8>min(63, nearestInt(invMin * ldf(mins, j)) & 0xff));
  }
  const q = o + 4;
  for (let j = 0; j < 8; j++) {
    const a = lu8(ls, j);
    const m = lu8(lm, j);
    if (j < 4) {
      store<u8>(q + <usize>j, <u8>a);
      store<u8>(q + <usize>(j + 4), <u8>m);
    } else {
      store<u8>(q + <usize>(j + 4), <u8>((a & 0xf) | ((m & 0xf) << 4)));
      store<u8>(q + <usize>(j - 4), <u8>(lu8(q, j - 4) | ((a >> 4) << 6)));
      store<u8>(q + <usize>j, <u8>(lu8(q, j) | ((m >> 4) << 6)));
    }
  }
  const dAll = putHalf(o, maxScale / 63);
  const mAll = putHalf(o + 2, maxMin / 63);
  for (let j = 0; j < 8; j++) {
    let sc: i32;
    let m: i32;
    if (j < 4) {
      sc = lu8(q, j) & 63;
      m = lu8(q, j + 4) & 63;
    } else {
      sc = (lu8(q, j + 4) & 0xf) | ((lu8(q, j - 4) >> 6) << 4);
      m = (lu8(q, j + 4) >> 4) | ((lu8(q, j) >> 6) << 4);
    }
    const d = dAll * <f32>sc;
    if (d == 0) continue;
    const dm = mAll * <f32>m;
    for (let ii = 0; ii < 32; ii++) {
      const e = (j << 5) + ii;
      store<u8>(L + <usize>e, <u8>clampI(nearestInt((ldf(x, e) + dm) / d), 0, nmax));
    }
  }
}

// block_q4_K: f16 d, f16 dmin, u8 scales[12], u8 qs[128] @16.
function q4K(x: usize, o: usize, s: usize): void {
  scaleMinLevels(x, o, s, 15, -1, 20);
  const L = s + S_L;
  for (let j = 0; j < 256; j += 64) {
    const q = o + 16 + <usize>(j >> 1);
    for (let l = 0; l < 32; l++) store<u8>(q + <usize>l, <u8>(lu8(L, j + l) | (lu8(L, j + l + 32) << 4)));
  }
}

// block_q5_K: f16 d, f16 dmin, u8 scales[12], u8 qh[32] @16, u8 qs[128] @48.
function q5K(x: usize, o: usize, s: usize): void {
  scaleMinLevels(x, o, s, 31, -0.5, 15);
  const L = s + S_L;
  const qh = o + 16;
  memory.fill(qh, 0, 32);
  for (let j = 0; j < 256; j += 64) {
    const q = o + 48 + <usize>(j >> 1);
    const bit = j >> 5;
    for (let l = 0; l < 32; l++) {
      const l1 = lu8(L, j + l);
      const l2 = lu8(L, j + l + 32);
      store<u8>(qh + <usize>l, <u8>(lu8(qh, l) | ((l1 >> 4) << bit) | ((l2 >> 4) << (bit + 1))));
      store<u8>(q + <usize>l, <u8>((l1 & 0xf) | ((l2 & 0xf) << 4)));
    }
  }
}

// block_q6_K: u8 ql[128], u8 qh[64] @128, i8 scales[16] @192, f16 d @208.
function q6K(x: usize, o: usize, s: usize): void {
  const L = s + S_L;
  const scales = s + S_SCALES;
  let maxScale: f32 = 0;
  let maxAbs: f32 = 0;
  for (let b = 0; b < 4; b++) {
    gatherGroups(x, s, b, 16);
    makeQxx4(16, 32, s + S_XT, s + S_LT, s + S_LAUXT, s + S_OUT);
    takeGroups(s, b, 16, scales, 0, L);
  }
  for (let ib = 0; ib < 16; ib++) {
    const sc = ldf(scales, ib);
    if (Mathf.abs(sc) > maxAbs) { maxAbs = Mathf.abs(sc); maxScale = sc; }
  }
  if (maxAbs < GROUP_MAX_EPS) {
    memory.fill(o, 0, BYTES_Q6_K); // an all-zero block: d = 0
    return;
  }
  const iscale: f32 = <f32>-128 / maxScale;
  const dAll = putHalf(o + 208, 1 / iscale);
  const sc8 = o + 192;
  for (let ib = 0; ib < 16; ib++) store<i8>(sc8 + <usize>ib, <i8>min(127, nearestInt(iscale * ldf(scales, ib))));
  for (let j = 0; j < 16; j++) {
    const d = dAll * <f32>load<i8>(sc8 + <usize>j);
    if (d == 0) continue;
    for (let ii = 0; ii < 16; ii++) {
      const e = (j << 4) + ii;
      store<u8>(L + <usize>e, <u8>(clampI(nearestInt(ldf(x, e) / d), -32, 31) + 32));
    }
  }
  for (let j = 0; j < 256; j += 128) {
    const ql = o + <usize>(j >> 1);
    const qh = o + 128 + <usize>(j >> 2);
    for (let l = 0; l < 32; l++) {
      const q1 = lu8(L, j + l);
      const q2 = lu8(L, j + l + 32);
      const q3 = lu8(L, j + l + 64);
      const q4 = lu8(L, j + l + 96);
      store<u8>(ql + <usize>l, <u8>((q1 & 0xf) | ((q3 & 0xf) << 4)));
      store<u8>(ql + <usize>(l + 32), <u8>((q2 & 0xf) | ((q4 & 0xf) << 4)));
      store<u8>(qh + <usize>l, <u8>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6)));
    }
  }
}

// The 32-blocks, four values per lane group. f32x4 arithmetic rounds each lane as scalar f32 does; the
// reference's integer steps (Math.trunc, Math.min, then `&` / `>>`, i.e. ToInt32) become trunc, min and a
// saturating conversion, which agree wherever a block scale is finite and, for the infinite inverse scales of
// tiny blocks, after the masks noted at each use.

/** The value of largest magnitude in 32 floats at x with its sign, the first of equal magnitudes (0 when all are ±0). */
@inline function signedAbsMax32(x: usize): f32 {
  let m = f32x4.abs(v128.load(x));
  for (let k: usize = 16; k < 128; k += 16) m = f32x4.max(m, f32x4.abs(v128.load(x + k)));
  const amax = Mathf.max(Mathf.max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)),
    Mathf.max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  if (amax == 0) return 0; // the reference starts from max = +0 and never replaces it
  let j = 0;
  while (Mathf.abs(ldf(x, j)) != amax) j++;
  return ldf(x, j);
}

/**
 * The reference's block minimum and maximum (a scan from ±FLT_MAX keeping the first of equal values) into
 * blockMin / blockMax. The lane-wise pmin / pmax give the same values; only which zero (+0 or -0) is first
 * depends on the order, so a zero result is settled by the scalar scan.
 */
@inline function blockRange(x: usize): void {
  let mn = v128.load(x);
  let mx = mn;
  for (let k: usize = 16; k < 128; k += 16) {
    const v = v128.load(x + k);
    mn = f32x4.pmin(mn, v);
    mx = f32x4.pmax(mx, v);
  }
  let a = Mathf.min(Mathf.min(f32x4.extract_lane(mn, 0), f32x4.extract_lane(mn, 1)),
    Mathf.min(f32x4.extract_lane(mn, 2), f32x4.extract_lane(mn, 3)));
  let b = Mathf.max(Mathf.max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)),
    Mathf.max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)));
  if (a == 0 || b == 0) {
    a = f32.MAX_VALUE;
    b = -f32.MAX_VALUE;
    for (let j = 0; j < 32; j++) {
      const v = ldf(x, j);
      if (v < a) a = v;
      if (v > b) b = v;
    }
  }
  blockMin = a;
  blockMax = b;
}

// The min and max of the last blockRange (instance state, one per thread).
let blockMin: f32 = 0;
let blockMax: f32 = 0;

/**
 * Four values at x: trunc(min(hi, x * id + add)) (or without the min when hi is 0) as i32 lanes, the way the
 * reference's integer ops see them: NaN and ±infinity give 0 (ToInt32), which the saturating conversion gives
 * for NaN and -infinity and `finite` restores for +infinity.
 */
@inline function quants4(x: usize, id: v128, sub: v128, add: v128, hi: f32): v128 {
  let v = f32x4.add(f32x4.mul(f32x4.sub(v128.load(x), sub), id), add);
  v = f32x4.trunc(v);
  if (hi != 0) v = f32x4.min(f32x4.splat(hi), v);
  const finite = f32x4.lt(f32x4.abs(v), f32x4.splat(<f32>2147483648));
  return v128.and(i32x4.trunc_sat_f32x4_s(v), finite);
}

/** Sixteen i32 quants (four v128) as the low 4 bits of 16 bytes. */
@inline function nibbles16(a: v128, b: v128, c: v128, d: v128): v128 {
  const m = i32x4.splat(0xf);
  return i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(v128.and(a, m), v128.and(b, m)),
    i16x8.narrow_i32x4_u(v128.and(c, m), v128.and(d, m)));
}

/** Bit 4 of sixteen i32 quants, as a 16-bit mask (bit j from quant j). */
@inline function fifthBits16(a: v128, b: v128, c: v128, d: v128): u32 {
  const m = i32x4.splat(0x10);
  const bytes = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(v128.and(a, m), v128.and(b, m)),
    i16x8.narrow_i32x4_u(v128.and(c, m), v128.and(d, m)));
  return i8x16.bitmask(i8x16.shl(bytes, 3));
}

/** Pack 32 quants of a 32-block (low nibbles of elements j and j + 16 in byte j) at q; returns the 5th bits. */
@inline function pack32(x: usize, id: v128, sub: v128, add: v128, hi: f32, q: usize): u32 {
  const a0 = quants4(x, id, sub, add, hi);
  const a1 = quants4(x + 16, id, sub, add, hi);
  const a2 = quants4(x + 32, id, sub, add, hi);
  const a3 = quants4(x + 48, id, sub, add, hi);
  const b0 = quants4(x + 64, id, sub, add, hi);
  const b1 = quants4(x + 80, id, sub, add, hi);
  const b2 = quants4(x + 96, id, sub, add, hi);
  const b3 = quants4(x + 112, id, sub, add, hi);
  v128.store(q, v128.or(nibbles16(a0, a1, a2, a3), i8x16.shl(nibbles16(b0, b1, b2, b3), 4)));
  return fifthBits16(a0, a1, a2, a3) | (fifthBits16(b0, b1, b2, b3) << 16);
}

// block_q4_0: f16 d, u8 qs[16] (element j low nibble of qs[j], j + 16 the high nibble).
function q4_0(x: usize, o: usize): void {
  const d: f32 = signedAbsMax32(x) / -8;
  const id: f32 = d != 0 ? 1 / d : 0;
  store<u16>(o, <u16>f32ToHalf(d));
  pack32(x, f32x4.splat(id), f32x4.splat(0), f32x4.splat(8.5), 15, o + 2);
}

// block_q4_1: f16 d, f16 m, u8 qs[16].
function q4_1(x: usize, o: usize): void {
  blockRange(x);
  const mn = blockMin;
  const d: f32 = (blockMax - mn) / 15;
  const id: f32 = d != 0 ? 1 / d : 0;
  store<u16>(o, <u16>f32ToHalf(d));
  store<u16>(o + 2, <u16>f32ToHalf(mn));
  pack32(x, f32x4.splat(id), f32x4.splat(mn), f32x4.splat(0.5), 15, o + 4);
}

// block_q5_0: f16 d, u8 qh[4] (bit j: bit 4 of element j), u8 qs[16].
function q5_0(x: usize, o: usize): void {
  const d: f32 = signedAbsMax32(x) / -16;
  const id: f32 = d != 0 ? 1 / d : 0;
  store<u16>(o, <u16>f32ToHalf(d));
  store<u32>(o + 2, pack32(x, f32x4.splat(id), f32x4.splat(0), f32x4.splat(16.5), 31, o + 6));
}

// block_q5_1: f16 d, f16 m, u8 qh[4], u8 qs[16]; no clamp (the quants are at most 31).
function q5_1(x: usize, o: usize): void {
  blockRange(x);
  const mn = blockMin;
  const d: f32 = (blockMax - mn) / 31;
  const id: f32 = d != 0 ? 1 / d : 0;
  store<u16>(o, <u16>f32ToHalf(d));
  store<u16>(o + 2, <u16>f32ToHalf(mn));
  store<u32>(o + 4, pack32(x, f32x4.splat(id), f32x4.splat(mn), f32x4.splat(0.5), 0, o + 8));
}

/** Four values x * id rounded as C roundf (halfway away from zero; v - trunc(v) is exact), as ToInt32 & 0xff. */
@inline function q8Bytes4(x: usize, id: v128): v128 {
  const v = f32x4.mul(v128.load(x), id);
  const t = f32x4.trunc(v);
  const away = f32x4.ge(f32x4.abs(f32x4.sub(v, t)), f32x4.splat(0.5));
  const one = v128.or(v128.and(v, i32x4.splat(0x80000000)), f32x4.splat(1)); // copysign(1, v)
  const r = f32x4.add(t, v128.and(one, away));
  const finite = f32x4.lt(f32x4.abs(r), f32x4.splat(<f32>2147483648));
  return v128.and(v128.and(i32x4.trunc_sat_f32x4_s(r), finite), i32x4.splat(0xff));
}

// block_q8_0: f16 d, i8 qs[32].
function q8_0(x: usize, o: usize): void {
  let m = f32x4.abs(v128.load(x));
  for (let k: usize = 16; k < 128; k += 16) m = f32x4.max(m, f32x4.abs(v128.load(x + k)));
  const amax = Mathf.max(Mathf.max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)),
    Mathf.max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  const d: f32 = amax / 127;
  const id = f32x4.splat(d != 0 ? 1 / d : 0);
  store<u16>(o, <u16>f32ToHalf(d));
  for (let h: usize = 0; h < 2; h++) {
    const xh = x + (h << 6);
    const lo = i16x8.narrow_i32x4_u(q8Bytes4(xh, id), q8Bytes4(xh + 16, id));
    const hi = i16x8.narrow_i32x4_u(q8Bytes4(xh + 32, id), q8Bytes4(xh + 48, id));
    v128.store(o + 2 + (h << 4), i8x16.narrow_i16x8_u(lo, hi));
  }
}
