// Shared pieces of the K-quant codecs (256-element super-blocks): ggml's rounding and scale searches, the
// search weights and 6-bit scale/min packing of Q4_K/Q5_K, the 2-bit packing of Q2_K/Q3_K, and row checks.
//
// The searches are ports of ggml-quants.c (make_qx_quants, make_q3_quants, make_qkx2_quants) that keep
// its float32 arithmetic: every operation C does in `float` is rounded with Math.fround, in the same
// order, so the chosen scales and quants — and therefore the bytes — come out as ggml's. `f` below is
// that rounding; a reader can mentally erase it to see the plain algorithm.

import { HearthError } from '../../util/errors.ts';
import { readHalf, writeHalf } from './half-bytes.ts';

/** Elements per K-quant super-block. */
export const QK_K = 256;

/** ggml's GROUP_MAX_EPS: groups whose largest magnitude is below it are treated as all zero. */
export const GROUP_MAX_EPS = Math.fround(1e-15);

const f = Math.fround;

/** 0.1f: the float32 step of the scale searches. */
export const TENTH = f(0.1);

// nearest_int() adds 1.5 * 2^23 in float, so the integer lands in the low mantissa bits, and reads them back.
// Going through the float's bits (not Math.round) keeps ggml's results for every input: ties go to even,
// NaN gives 0, and out-of-range values give the same wrapped garbage that ggml then clamps.
const roundF32 = new Float32Array(1);
const roundI32 = new Int32Array(roundF32.buffer);

/** ggml's nearest_int: round a float32 to the nearest integer, ties to even. Pass an already-rounded float. */
export function nearestInt(fval: number): number {
  // Fast path: while the sum stays in [2^23, 2^24) its mantissa bits are exactly sum - 2^23.
  const v = Math.fround(fval + 12582912) - 12582912;
  if (v >= -0x00400000 && v < 0x00400000) return v;
  roundF32[0] = fval + 12582912;
  return (roundI32[0] & 0x007fffff) - 0x00400000;
}

/**
 * Scale for a symmetric quantization of x[0..n) to L[i] - nmax in [-nmax, nmax - 1], searched around
 * -nmax / max (ggml make_qx_quants). rmseType picks the error weights (1: x², 2: 1, 3: |x|, else √|x|);
 * a negative rmseType returns after the first least-squares fit; 0 skips the fit. L receives the quants + nmax.
 */
export function makeQxQuants(n: number, nmax: number, x: Float32Array, L: Int8Array, rmseType: number,
  qw: Float32Array | null): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[i]);
    if (ax > amax) { amax = ax; max = x[i]; }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, 0, n);
    return 0;
  }
  let iscale = f(-nmax / max);
  if (rmseType === 0) {
    for (let i = 0; i < n; i++) L[i] = nmax + clamp(nearestInt(f(iscale * x[i])), -nmax, nmax - 1);
    return f(1 / iscale);
  }
  let returnEarly = false;
  if (rmseType < 0) {
    rmseType = -rmseType;
    returnEarly = true;
  }
  const weight = (i: number): number => qw ? qw[i]
    : rmseType === 1 ? f(x[i] * x[i]) : rmseType === 2 ? 1 : rmseType === 3 ? Math.abs(x[i]) : f(Math.sqrt(Math.abs(x[i])));
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const l = clamp(nearestInt(f(iscale * x[i])), -nmax, nmax - 1);
    L[i] = l + nmax;
    const w = weight(i);
    sumlx = f(sumlx + f(f(w * x[i]) * l));
    suml2 = f(suml2 + f(f(w * l) * l));
  }
  let scale = suml2 !== 0 ? f(sumlx / suml2) : 0;
  if (returnEarly) return suml2 > 0 ? f(0.5 * f(scale + f(1 / iscale))) : f(1 / iscale);
  let best = f(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f(-f(nmax + f(TENTH * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const l = clamp(nearestInt(f(iscale * x[i])), -nmax, nmax - 1);
      const w = weight(i);
      sumlx = f(sumlx + f(f(w * x[i]) * l));
      suml2 = f(suml2 + f(f(w * l) * l));
    }
    if (suml2 > 0 && f(sumlx * sumlx) > f(best * suml2)) {
      for (let i = 0; i < n; i++) L[i] = nmax + clamp(nearestInt(f(iscale * x[i])), -nmax, nmax - 1);
      scale = f(sumlx / suml2);
      best = f(scale * sumlx);
    }
  }
  return scale;
}

/**
 * Q3_K's per-16 scale (ggml make_q3_quants): symmetric quants in [-nmax, nmax - 1]; with doRmse, up to
 * five passes move single quants while that raises the x²-weighted fit. L receives the quants + nmax.
 */
export function makeQ3Quants(n: number, nmax: number, x: Float32Array, L: Int8Array, doRmse: boolean): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[i]);
    if (ax > amax) { amax = ax; max = x[i]; }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, 0, n);
    return 0;
  }
  const iscale = f(-nmax / max);
  if (!doRmse) {
    for (let i = 0; i < n; i++) L[i] = clamp(nearestInt(f(iscale * x[i])), -nmax, nmax - 1) + nmax;
    return f(1 / iscale);
  }
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const l = clamp(nearestInt(f(iscale * x[i])), -nmax, nmax - 1);
    L[i] = l;
    const w = f(x[i] * x[i]);
    sumlx = f(sumlx + f(f(w * x[i]) * l));
    suml2 = f(suml2 + f(f(w * l) * l));
  }
  for (let itry = 0; itry < 5; itry++) {
    let nChanged = 0;
    for (let i = 0; i < n; i++) {
      const w = f(x[i] * x[i]);
      let slx = f(sumlx - f(f(w * x[i]) * L[i]));
      if (slx > 0) {
        let sl2 = f(suml2 - f(f(w * L[i]) * L[i]));
        const newL = clamp(nearestInt(f(f(x[i] * sl2) / slx)), -nmax, nmax - 1);
        if (newL !== L[i]) {
          slx = f(slx + f(f(w * x[i]) * newL));
          sl2 = f(sl2 + f(f(w * newL) * newL));
          if (sl2 > 0 && f(f(slx * slx) * suml2) > f(f(sumlx * sumlx) * sl2)) {
            L[i] = newL;
            sumlx = slx;
            suml2 = sl2;
            nChanged++;
          }
        }
      }
    }
    if (nChanged === 0) break;
  }
  for (let i = 0; i < n; i++) L[i] += nmax;
  return suml2 > 0 ? f(sumlx / suml2) : 0;
}

const xmScratch = new Float32Array(256);

/**
 * Scale and min for an asymmetric quantization x ≈ scale * L - min, L in [0, nmax] (ggml make_qkx2_quants).
 * Tries nstep + 1 inverse scales (rmin + rdelta * is + nmax) / (max - min), refits scale and min by weighted
 * least squares for each, and keeps the one with the lowest weighted error (absolute with useMad, else squared).
 * L receives the quants, Laux is scratch of n bytes; the min (a non-negative offset) goes to mins[mi].
 */
export function makeQkx2Quants(n: number, nmax: number, x: Float32Array, weights: Float32Array, L: Uint8Array,
  mins: Float32Array, mi: number, Laux: Uint8Array, rmin: number, rdelta: number, nstep: number,
  useMad: boolean): number {
  let min = x[0];
  let max = x[0];
  let sumW = weights[0];
  let sumX = f(sumW * x[0]);
  for (let i = 1; i < n; i++) {
    const xi = x[i];
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const w = weights[i];
    sumW = f(sumW + w);
    sumX = f(sumX + f(w * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, 0, n);
    mins[mi] = -min;
    return 0;
  }
  let range = f(max - min);
  let iscale = f(nmax / range);
  let scale = f(1 / iscale);
  let bestError = 0;
  const xm = n <= 256 ? xmScratch : new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const d = f(x[i] - min);
    xm[i] = d;
    const l = clamp(nearestInt(f(iscale * d)), 0, nmax);
    L[i] = l;
    const diff = f(f(f(scale * l) + min) - x[i]);
    bestError = f(bestError + f(weights[i] * (useMad ? Math.abs(diff) : f(diff * diff))));
  }
  if (nstep < 1) {
    mins[mi] = -min;
    return scale;
  }
  for (let is = 0; is <= nstep; is++) {
    // min moves to the best fit found so far, so later steps measure the range from there (as ggml does);
    // xm holds x - min for the current min.
    iscale = f(f(f(rmin + f(rdelta * is)) + nmax) / range);
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = clamp(nearestInt(f(iscale * xm[i])), 0, nmax);
      Laux[i] = l;
      const wl = f(weights[i] * l);
      sumL = f(sumL + wl);
      sumL2 = f(sumL2 + f(wl * l));
      sumXL = f(sumXL + f(wl * x[i]));
    }
    const D = f(f(sumW * sumL2) - f(sumL * sumL));
    if (D > 0) {
      let thisScale = f(f(f(sumW * sumXL) - f(sumX * sumL)) / D);
      let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f(sumXL / sumL2);
      }
      let curError = 0;
      if (useMad) {
        for (let i = 0; i < n; i++) curError = f(curError + f(weights[i] * Math.abs(f(f(f(thisScale * Laux[i]) + thisMin) - x[i]))));
      } else {
        for (let i = 0; i < n; i++) {
          const diff = f(f(f(thisScale * Laux[i]) + thisMin) - x[i]);
          curError = f(curError + f(weights[i] * f(diff * diff)));
        }
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[i] = Laux[i];
        bestError = curError;
        scale = thisScale;
        if (thisMin !== min) {
          min = thisMin;
          range = f(max - min);
          for (let i = 0; i < n; i++) xm[i] = f(x[i] - min);
        }
      }
    }
  }
  mins[mi] = -min;
  return scale;
}

/**
 * Search weights of Q4_K and Q5_K for the 32 elements at x[o..o+32): |x| plus the group's RMS, so large
 * values count more without the small ones being ignored.
 */
export function groupWeights(x: Float32Array, o: number, weights: Float32Array): void {
  let sumX2 = 0;
  for (let l = 0; l < 32; l++) sumX2 = f(sumX2 + f(x[o + l] * x[o + l]));
  const avX = f(Math.sqrt(f(sumX2 / 32)));
  for (let l = 0; l < 32; l++) weights[l] = avX + Math.abs(x[o + l]);
}

/**
 * The j-th (of 8) 6-bit scale and min of a Q4_K/Q5_K block from its 12 packed bytes at q[o..o+12)
 * (ggml get_scale_min_k4): out[0] = scale, out[1] = min.
 */
export function getScaleMinK4(j: number, q: Uint8Array, o: number, out: Uint8Array): void {
  if (j < 4) {
    out[0] = q[o + j] & 63;
    out[1] = q[o + j + 4] & 63;
  } else {
    out[0] = (q[o + j + 4] & 0xf) | ((q[o + j - 4] >> 6) << 4);
    out[1] = (q[o + j + 4] >> 4) | ((q[o + j] >> 6) << 4);
  }
}

/** Inverse of getScaleMinK4 over all 8 sub-blocks: pack 6-bit scales ls[j] and mins lm[j] into q[o..o+12). */
export function packScaleMinK4(ls: Uint8Array, lm: Uint8Array, q: Uint8Array, o: number): void {
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      q[o + j] = ls[j];
      q[o + j + 4] = lm[j];
    } else {
      q[o + j + 4] = (ls[j] & 0xf) | ((lm[j] & 0xf) << 4);
      q[o + j - 4] |= (ls[j] >> 4) << 6;
      q[o + j] |= (lm[j] >> 4) << 6;
    }
  }
}

/** Pack 256 2-bit values as ggml does for Q2_K and Q3_K: 4 per byte, strided by 32 within each 128. */
export function packTwoBit(L: Uint8Array | Int8Array, dst: Uint8Array, o: number): void {
  for (let j = 0; j < QK_K; j += 128) {
    for (let l = 0; l < 32; l++) {
      dst[o + j / 4 + l] = L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6);
    }
  }
}

const packLs = new Uint8Array(8);
const packLm = new Uint8Array(8);

/**
 * The shared header of Q4_K and Q5_K blocks at dst[o..o+16): the 8 searched scales and mins become 6-bit
 * multiples of d = maxScale / 63 and dmin = maxMin / 63 (f16 at o and o + 2), packed at o + 4.
 */
export function storeScalesAndMins(scales: Float32Array, mins: Float32Array, maxScale: number, maxMin: number,
  dst: Uint8Array, o: number): void {
  const invScale = maxScale > 0 ? f(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? f(63 / maxMin) : 0;
  for (let j = 0; j < 8; j++) {
    // Stored as u8 first, then capped, as ggml does.
    packLs[j] = Math.min(63, nearestInt(f(invScale * scales[j])) & 0xff);
    packLm[j] = Math.min(63, nearestInt(f(invMin * mins[j])) & 0xff);
  }
  packScaleMinK4(packLs, packLm, dst, o + 4);
  writeHalf(dst, o, f(maxScale / 63));
  writeHalf(dst, o + 2, f(maxMin / 63));
}
/** Reusable buffers for quantizeScaleMinLevels. */
export class ScaleMinScratch {
  readonly laux = new Uint8Array(32);
  readonly weights = new Float32Array(32);
  readonly mins = new Float32Array(8);
  readonly scales = new Float32Array(8);
  readonly sm = new Uint8Array(2);
}

/**
 * The part Q4_K and Q5_K share (ggml's quantize_row_q4_K_ref / q5_K_ref): search each group's scale and min
 * (make_qkx2_quants with nmax, rmin and nstep), store the block header at dst[o..o+16), then requantize x
 * against the scales as stored (f16 times 6 bits), writing levels 0..nmax into L[0..256).
 */
export function quantizeScaleMinLevels(x: Float32Array, dst: Uint8Array, o: number, nmax: number, rmin: number,
  nstep: number, L: Uint8Array, s: ScaleMinScratch): void {
  let maxScale = 0; // scales are never negative: the min is taken out first
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    groupWeights(x, 32 * j, s.weights);
    s.scales[j] = makeQkx2Quants(32, nmax, x.subarray(32 * j, 32 * j + 32), s.weights, L.subarray(32 * j, 32 * j + 32),
      s.mins, j, s.laux, rmin, TENTH, nstep, false);
    if (s.scales[j] > maxScale) maxScale = s.scales[j];
    if (s.mins[j] > maxMin) maxMin = s.mins[j];
  }
  storeScalesAndMins(s.scales, s.mins, maxScale, maxMin, dst, o);
  const dAll = readHalf(dst, o);
  const mAll = readHalf(dst, o + 2);
  for (let j = 0; j < 8; j++) {
    getScaleMinK4(j, dst, o + 4, s.sm);
    const d = f(dAll * s.sm[0]);
    if (d === 0) continue;
    const dm = f(mAll * s.sm[1]);
    for (let ii = 0; ii < 32; ii++) L[32 * j + ii] = clamp(nearestInt(f(f(x[32 * j + ii] + dm) / d)), 0, nmax);
  }
}

/** Number of super-blocks in a row of n elements; throws when n or a buffer does not fit the type. */
export function superBlocks(type: string, n: number, bytesPerBlock: number, packedLength: number,
  floatLength: number): number {
  if (!Number.isInteger(n) || n < 0 || n % QK_K !== 0) {
    throw new HearthError('invalid_argument', `${type}: row of ${n} elements is not a multiple of ${QK_K}`);
  }
  const nb = n / QK_K;
  if (packedLength < nb * bytesPerBlock || floatLength < n) {
    throw new HearthError('invalid_argument',
      `${type}: ${n} elements need ${nb * bytesPerBlock} packed bytes and ${n} floats; got ${packedLength} and ${floatLength}`);
  }
  return nb;
}

/** ggml's MAX(lo, MIN(hi, v)) on ints. */
export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
