// The scale searches of the K-quant weight encoders (quantize-weights.ts), written from the TypeScript
// reference (src/quant/ref/k-quant-search.ts). That reference rounds every step to float32 with
// Math.fround; here each step is plain f32 arithmetic in the same order, so the chosen scales and quants,
// and therefore the bytes, are the same. Only the variants the encoders use are here: makeQx with x²
// weights (Q6_K), makeQ3 with its refinement passes (Q3_K), makeQkx2 (Q2_K, Q4_K, Q5_K).
// Arrays are pointers into caller-owned scratch (this module has no static data): f32 x[n], u8 / i8 L[n].

/** ggml's GROUP_MAX_EPS: groups whose largest magnitude is below it are treated as all zero. */
export const GROUP_MAX_EPS: f32 = 1e-15;
/** 0.1f, the step of the scale searches. */
export const TENTH: f32 = 0.1;

/**
 * Round to the nearest integer, ties to even, as ggml's nearest_int: adding 1.5 * 2^23 puts the integer in
 * the low mantissa bits (NaN gives 0, out-of-range values the same wrapped value as the reference).
 */
@inline export function nearestInt(v: f32): i32 {
  const t: f32 = v + <f32>12582912;
  return (reinterpret<i32>(t) & 0x007fffff) - 0x00400000;
}

@inline export function clampI(v: i32, lo: i32, hi: i32): i32 {
  return v < lo ? lo : v > hi ? hi : v;
}

@inline function ld(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

/**
 * Symmetric quants L[i] + nmax in [0, 2 nmax) for x[0..n), scale searched around -nmax / max with x²
 * error weights (the reference's makeQxQuants with rmseType 1 and no quant weights). Returns the scale.
 */
export function makeQx(n: i32, nmax: i32, x: usize, L: usize): f32 {
  let max: f32 = 0;
  let amax: f32 = 0;
  for (let i = 0; i < n; i++) {
    const ax = Mathf.abs(ld(x, i));
    if (ax > amax) { amax = ax; max = ld(x, i); }
  }
  if (amax < GROUP_MAX_EPS) {
    memory.fill(L, 0, <usize>n);
    return 0;
  }
  const fmax = <f32>nmax;
  let iscale: f32 = -fmax / max;
  let sumlx: f32 = 0;
  let suml2: f32 = 0;
  for (let i = 0; i < n; i++) {
    const xi = ld(x, i);
    const l = clampI(nearestInt(iscale * xi), -nmax, nmax - 1);
    store<i8>(L + <usize>i, <i8>(l + nmax));
    const w = xi * xi;
    const fl = <f32>l;
    sumlx += (w * xi) * fl;
    suml2 += (w * fl) * fl;
  }
  let scale: f32 = suml2 != 0 ? sumlx / suml2 : 0;
  let best = scale * sumlx;
  for (let is = -9; is <= 9; is++) {
    if (is == 0) continue;
    iscale = -(fmax + TENTH * <f32>is) / max;
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = ld(x, i);
      const fl = <f32>clampI(nearestInt(iscale * xi), -nmax, nmax - 1);
      const w = xi * xi;
      sumlx += (w * xi) * fl;
      suml2 += (w * fl) * fl;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (let i = 0; i < n; i++) {
        store<i8>(L + <usize>i, <i8>(nmax + clampI(nearestInt(iscale * ld(x, i)), -nmax, nmax - 1)));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

/**
 * Q3_K's per-16 scale (the reference's makeQ3Quants with doRmse): symmetric quants in [-nmax, nmax - 1],
 * then up to five passes that move single quants while the x²-weighted fit improves. L receives quants + nmax.
 */
export function makeQ3(n: i32, nmax: i32, x: usize, L: usize): f32 {
  let max: f32 = 0;
  let amax: f32 = 0;
  for (let i = 0; i < n; i++) {
    const ax = Mathf.abs(ld(x, i));
    if (ax > amax) { amax = ax; max = ld(x, i); }
  }
  if (amax < GROUP_MAX_EPS) {
    memory.fill(L, 0, <usize>n);
    return 0;
  }
  const iscale: f32 = -<f32>nmax / max;
  let sumlx: f32 = 0;
  let suml2: f32 = 0;
  for (let i = 0; i < n; i++) {
    const xi = ld(x, i);
    const l = clampI(nearestInt(iscale * xi), -nmax, nmax - 1);
    store<i8>(L + <usize>i, <i8>l);
    const w = xi * xi;
    const fl = <f32>l;
    sumlx += (w * xi) * fl;
    suml2 += (w * fl) * fl;
  }
  for (let itry = 0; itry < 5; itry++) {
    let nChanged = 0;
    for (let i = 0; i < n; i++) {
      const xi = ld(x, i);
      const w = xi * xi;
      const li = <i32>load<i8>(L + <usize>i);
      const fli = <f32>li;
      let slx = sumlx - (w * xi) * fli;
      if (slx > 0) {
        let sl2 = suml2 - (w * fli) * fli;
        const newL = clampI(nearestInt((xi * sl2) / slx), -nmax, nmax - 1);
        if (newL != li) {
          const fnl = <f32>newL;
          slx += (w * xi) * fnl;
          sl2 += (w * fnl) * fnl;
          if (sl2 > 0 && (slx * slx) * suml2 > (sumlx * sumlx) * sl2) {
            store<i8>(L + <usize>i, <i8>newL);
            sumlx = slx;
            suml2 = sl2;
            nChanged++;
          }
        }
      }
    }
    if (nChanged == 0) break;
  }
  for (let i = 0; i < n; i++) store<i8>(L + <usize>i, <i8>(<i32>load<i8>(L + <usize>i) + nmax));
  return suml2 > 0 ? sumlx / suml2 : 0;
}

/** The min (a non-negative offset) found by the last makeQkx2 call: instance state, one per thread. */
export let qkx2Min: f32 = 0;

/**
 * Scale and min of an asymmetric quantization x ≈ scale * L - min, L in [0, nmax] (the reference's
 * makeQkx2Quants): nstep + 1 inverse scales (rmin + rdelta * is + nmax) / (max - min), each refitted by
 * weighted least squares, the lowest weighted error kept (absolute with useMad, else squared).
 * w: f32 weights[n]; L: u8 quants; laux: u8 scratch[n]; xm: f32 scratch[n]. The min goes to qkx2Min.
 */
export function makeQkx2(n: i32, nmax: i32, x: usize, w: usize, L: usize, laux: usize, xm: usize, rmin: f32,
  rdelta: f32, nstep: i32, useMad: bool): f32 {
  let min = ld(x, 0);
  let max = min;
  let sumW = ld(w, 0);
  let sumX: f32 = sumW * min;
  for (let i = 1; i < n; i++) {
    const xi = ld(x, i);
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const wi = ld(w, i);
    sumW += wi;
    sumX += wi * xi;
  }
  if (min > 0) min = 0;
  if (max == min) {
    memory.fill(L, 0, <usize>n);
    qkx2Min = -min;
    return 0;
  }
  const fmax = <f32>nmax;
  let range = max - min;
  let iscale: f32 = fmax / range;
  let scale: f32 = 1 / iscale;
  let bestError: f32 = 0;
  for (let i = 0; i < n; i++) {
    const xi = ld(x, i);
    const d = xi - min;
    store<f32>(xm + (<usize>i << 2), d);
    const l = clampI(nearestInt(iscale * d), 0, nmax);
    store<u8>(L + <usize>i, <u8>l);
    const diff = (scale * <f32>l + min) - xi;
    bestError += ld(w, i) * (useMad ? Mathf.abs(diff) : diff * diff);
  }
  if (nstep < 1) {
    qkx2Min = -min;
    return scale;
  }
  for (let is = 0; is <= nstep; is++) {
    iscale = ((rmin + rdelta * <f32>is) + fmax) / range;
    let sumL: f32 = 0;
    let sumL2: f32 = 0;
    let sumXL: f32 = 0;
    for (let i = 0; i < n; i++) {
      const l = clampI(nearestInt(iscale * ld(xm, i)), 0, nmax);
      store<u8>(laux + <usize>i, <u8>l);
      const wl = ld(w, i) * <f32>l;
      sumL += wl;
      sumL2 += wl * <f32>l;
      sumXL += wl * ld(x, i);
    }
    const D = sumW * sumL2 - sumL * sumL;
    if (D > 0) {
      let thisScale = (sumW * sumXL - sumX * sumL) / D;
      let thisMin = (sumL2 * sumX - sumL * sumXL) / D;
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = sumXL / sumL2;
      }
      let curError: f32 = 0;
      if (useMad) {
        for (let i = 0; i < n; i++) {
          curError += ld(w, i) * Mathf.abs((thisScale * <f32>load<u8>(laux + <usize>i) + thisMin) - ld(x, i));
        }
      } else {
        for (let i = 0; i < n; i++) {
          const diff = (thisScale * <f32>load<u8>(laux + <usize>i) + thisMin) - ld(x, i);
          curError += ld(w, i) * (diff * diff);
        }
      }
      if (curError < bestError) {
        memory.copy(L, laux, <usize>n);
        bestError = curError;
        scale = thisScale;
        if (thisMin != min) {
          // later steps measure the range from the best min so far, as the reference does
          min = thisMin;
          range = max - min;
          for (let i = 0; i < n; i++) store<f32>(xm + (<usize>i << 2), ld(x, i) - min);
        }
      }
    }
  }
  qkx2Min = -min;
  return scale;
}
