// The scale searches of the K-quant weight encoders (quantize-weights.ts), written from the TypeScript
// reference (src/quant/ref/k-quant-search.ts). That reference rounds every step to float32 with
// Math.fround; here each step is plain f32 arithmetic in the same order, so the chosen scales and quants,
// and therefore the bytes, are the same. Only the variants the encoders use are here: makeQx with x²
// weights (Q6_K), makeQ3 with its refinement passes (Q3_K), makeQkx2 (Q2_K, Q4_K, Q5_K). Each runs four
// groups at once, one per SIMD lane: f32x4 arithmetic rounds every lane as scalar f32 does, so each lane
// follows the reference's order exactly, and four dependency chains (the running sums) advance side by side
// where one would wait on each addition. The reference's branches become lane selects.
// Arrays are pointers into caller-owned scratch (this module has no static data).

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

/** Lane-wise nearestInt of four floats. */
@inline function nearestV(v: v128): v128 {
  const t = f32x4.add(v, f32x4.splat(<f32>12582912));
  return i32x4.sub(v128.and(t, i32x4.splat(0x007fffff)), i32x4.splat(0x00400000));
}

@inline function clampV(v: v128, lo: v128, hi: v128): v128 {
  return i32x4.min_s(i32x4.max_s(v, lo), hi);
}

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 4);
}

/**
 * Scale and min of an asymmetric quantization x ≈ scale * L - min, L in [0, nmax], for four groups at once,
 * one per lane (the reference's makeQkx2Quants, run lane by lane in the same order): nstep + 1 inverse scales
 * (rmin + rdelta * is + nmax) / (max - min), each refitted by weighted least squares, the lowest weighted error
 * kept (absolute with useMad, else squared). The groups are independent, so four dependency chains run side by
 * side where one would wait on each addition; every branch of the reference becomes a lane select.
 * Arrays hold n v128 of the four groups' element i: xt, wt (f32 x and weights), Lt (i32 quants out), and
 * scratch lauxt (i32) and xmt (f32). out receives the four scales (f32x4) and at out + 16 the four mins.
 * nstep >= 1 (the reference returns the first fit without searching when it is 0; no encoder asks for that).
 */
export function makeQkx2x4(n: i32, nmax: i32, xt: usize, wt: usize, Lt: usize, lauxt: usize, xmt: usize,
  rmin: f32, rdelta: f32, nstep: i32, useMad: bool, out: usize): void {
  const zero = f32x4.splat(0);
  const zeroI = i32x4.splat(0);
  const nmaxI = i32x4.splat(nmax);
  const fmax = f32x4.splat(<f32>nmax);
  let min = v128.load(xt);
  let max = min;
  let sumW = v128.load(wt);
  let sumX = f32x4.mul(sumW, min);
  for (let i = 1; i < n; i++) {
    const xi = v128.load(at(xt, i));
    min = v128.bitselect(xi, min, f32x4.lt(xi, min));
    max = v128.bitselect(xi, max, f32x4.gt(xi, max));
    const wi = v128.load(at(wt, i));
    sumW = f32x4.add(sumW, wi);
    sumX = f32x4.add(sumX, f32x4.mul(wi, xi));
  }
  min = v128.bitselect(zero, min, f32x4.gt(min, zero));
  // lanes whose group is constant: L = 0, scale 0, min as it is now (their search below is computed and dropped)
  const flat = f32x4.eq(max, min);
  const flatMin = min;
  let range = f32x4.sub(max, min);
  let iscale = f32x4.div(fmax, range);
  let scale = f32x4.div(f32x4.splat(1), iscale);
  let bestError = zero;
  for (let i = 0; i < n; i++) {
    const xi = v128.load(at(xt, i));
    const d = f32x4.sub(xi, min);
    v128.store(at(xmt, i), d);
    const l = clampV(nearestV(f32x4.mul(iscale, d)), zeroI, nmaxI);
    v128.store(at(Lt, i), l);
    const diff = f32x4.sub(f32x4.add(f32x4.mul(scale, f32x4.convert_i32x4_s(l)), min), xi);
    bestError = f32x4.add(bestError, f32x4.mul(v128.load(at(wt, i)), useMad ? f32x4.abs(diff) : f32x4.mul(diff, diff)));
  }
  const vrmin = f32x4.splat(rmin);
  const vrdelta = f32x4.splat(rdelta);
  for (let is = 0; is <= nstep; is++) {
    iscale = f32x4.div(f32x4.add(f32x4.add(vrmin, f32x4.mul(vrdelta, f32x4.splat(<f32>is))), fmax), range);
    let sumL = zero;
    let sumL2 = zero;
    let sumXL = zero;
    for (let i = 0; i < n; i++) {
      const l = clampV(nearestV(f32x4.mul(iscale, v128.load(at(xmt, i)))), zeroI, nmaxI);
      v128.store(at(lauxt, i), l);
      const fl = f32x4.convert_i32x4_s(l);
      const wl = f32x4.mul(v128.load(at(wt, i)), fl);
      sumL = f32x4.add(sumL, wl);
      sumL2 = f32x4.add(sumL2, f32x4.mul(wl, fl));
      sumXL = f32x4.add(sumXL, f32x4.mul(wl, v128.load(at(xt, i))));
    }
    const D = f32x4.sub(f32x4.mul(sumW, sumL2), f32x4.mul(sumL, sumL));
    const dPos = f32x4.gt(D, zero);
    if (!v128.any_true(dPos)) continue;
    let thisScale = f32x4.div(f32x4.sub(f32x4.mul(sumW, sumXL), f32x4.mul(sumX, sumL)), D);
    let thisMin = f32x4.div(f32x4.sub(f32x4.mul(sumL2, sumX), f32x4.mul(sumL, sumXL)), D);
    const minPos = f32x4.gt(thisMin, zero);
    thisMin = v128.bitselect(zero, thisMin, minPos);
    thisScale = v128.bitselect(f32x4.div(sumXL, sumL2), thisScale, minPos);
    let curError = zero;
    for (let i = 0; i < n; i++) {
      const fl = f32x4.convert_i32x4_s(v128.load(at(lauxt, i)));
      const diff = f32x4.sub(f32x4.add(f32x4.mul(thisScale, fl), thisMin), v128.load(at(xt, i)));
      curError = f32x4.add(curError, f32x4.mul(v128.load(at(wt, i)), useMad ? f32x4.abs(diff) : f32x4.mul(diff, diff)));
    }
    const better = v128.and(dPos, f32x4.lt(curError, bestError));
    if (!v128.any_true(better)) continue;
    for (let i = 0; i < n; i++) v128.store(at(Lt, i), v128.bitselect(v128.load(at(lauxt, i)), v128.load(at(Lt, i)), better));
    bestError = v128.bitselect(curError, bestError, better);
    scale = v128.bitselect(thisScale, scale, better);
    const moved = v128.and(better, f32x4.ne(thisMin, min));
    if (v128.any_true(moved)) {
      // later steps measure the range from the best min so far, as the reference does; range and xm stay
      // max - min and x - min in every lane, so recomputing all lanes changes only the moved ones
      min = v128.bitselect(thisMin, min, moved);
      range = f32x4.sub(max, min);
      for (let i = 0; i < n; i++) v128.store(at(xmt, i), f32x4.sub(v128.load(at(xt, i)), min));
    }
  }
  if (v128.any_true(flat)) {
    for (let i = 0; i < n; i++) v128.store(at(Lt, i), v128.bitselect(zeroI, v128.load(at(Lt, i)), flat));
  }
  v128.store(out, v128.bitselect(zero, scale, flat));
  v128.store(out, f32x4.neg(v128.bitselect(flatMin, min, flat)), 16);
}

/**
 * Symmetric quants L[i] + nmax in [0, 2 nmax) for four groups of n at once, one per lane, the scale searched
 * around -nmax / max with x² error weights (the reference's makeQxQuants with rmseType 1 and no quant weights,
 * lane by lane in the same order). xt: n v128 of the groups' element i; Lt: n v128 of i32 quants out; lauxt:
 * scratch of the same size. out receives the four scales.
 */
export function makeQxx4(n: i32, nmax: i32, xt: usize, Lt: usize, lauxt: usize, out: usize): void {
  const zero = f32x4.splat(0);
  const zeroI = i32x4.splat(0);
  const lo = i32x4.splat(-nmax);
  const hi = i32x4.splat(nmax - 1);
  const off = i32x4.splat(nmax);
  const fmax = f32x4.splat(<f32>nmax);
  let max = zero;
  let amax = zero;
  for (let i = 0; i < n; i++) {
    const xi = v128.load(at(xt, i));
    const ax = f32x4.abs(xi);
    const gt = f32x4.gt(ax, amax);
    amax = v128.bitselect(ax, amax, gt);
    max = v128.bitselect(xi, max, gt);
  }
  // lanes whose group is all (near) zero: L = 0, scale 0
  const empty = f32x4.lt(amax, f32x4.splat(GROUP_MAX_EPS));
  let iscale = f32x4.div(f32x4.neg(fmax), max);
  let sumlx = zero;
  let suml2 = zero;
  for (let i = 0; i < n; i++) {
    const xi = v128.load(at(xt, i));
    const l = clampV(nearestV(f32x4.mul(iscale, xi)), lo, hi);
    v128.store(at(Lt, i), i32x4.add(l, off));
    const w = f32x4.mul(xi, xi);
    const fl = f32x4.convert_i32x4_s(l);
    sumlx = f32x4.add(sumlx, f32x4.mul(f32x4.mul(w, xi), fl));
    suml2 = f32x4.add(suml2, f32x4.mul(f32x4.mul(w, fl), fl));
  }
  let scale = v128.bitselect(f32x4.div(sumlx, suml2), zero, f32x4.ne(suml2, zero));
  let best = f32x4.mul(scale, sumlx);
  const tenth = f32x4.splat(TENTH);
  for (let is = -9; is <= 9; is++) {
    if (is == 0) continue;
    iscale = f32x4.div(f32x4.neg(f32x4.add(fmax, f32x4.mul(tenth, f32x4.splat(<f32>is)))), max);
    sumlx = zero;
    suml2 = zero;
    for (let i = 0; i < n; i++) {
      const xi = v128.load(at(xt, i));
      const l = clampV(nearestV(f32x4.mul(iscale, xi)), lo, hi);
      v128.store(at(lauxt, i), l);
      const w = f32x4.mul(xi, xi);
      const fl = f32x4.convert_i32x4_s(l);
      sumlx = f32x4.add(sumlx, f32x4.mul(f32x4.mul(w, xi), fl));
      suml2 = f32x4.add(suml2, f32x4.mul(f32x4.mul(w, fl), fl));
    }
    const better = v128.and(f32x4.gt(suml2, zero), f32x4.gt(f32x4.mul(sumlx, sumlx), f32x4.mul(best, suml2)));
    if (!v128.any_true(better)) continue;
    for (let i = 0; i < n; i++) {
      v128.store(at(Lt, i), v128.bitselect(i32x4.add(v128.load(at(lauxt, i)), off), v128.load(at(Lt, i)), better));
    }
    scale = v128.bitselect(f32x4.div(sumlx, suml2), scale, better);
    best = v128.bitselect(f32x4.mul(scale, sumlx), best, better);
  }
  if (v128.any_true(empty)) {
    for (let i = 0; i < n; i++) v128.store(at(Lt, i), v128.bitselect(zeroI, v128.load(at(Lt, i)), empty));
  }
  v128.store(out, v128.bitselect(zero, scale, empty));
}

/**
 * Q3_K's per-16 scales for four groups at once, one per lane (the reference's makeQ3Quants with doRmse, lane by
 * lane in the same order): symmetric quants in [-nmax, nmax - 1], then up to five passes that move single quants
 * while the x²-weighted fit improves. A lane whose pass changed nothing would stop there; running it again
 * changes nothing either, so the passes go on while any lane changes. xt: n v128 of the groups' element i;
 * Lt: n v128 of i32 quants + nmax out. out receives the four scales.
 */
export function makeQ3x4(n: i32, nmax: i32, xt: usize, Lt: usize, out: usize): void {
  const zero = f32x4.splat(0);
  const zeroI = i32x4.splat(0);
  const lo = i32x4.splat(-nmax);
  const hi = i32x4.splat(nmax - 1);
  let max = zero;
  let amax = zero;
  for (let i = 0; i < n; i++) {
    const xi = v128.load(at(xt, i));
    const ax = f32x4.abs(xi);
    const gt = f32x4.gt(ax, amax);
    amax = v128.bitselect(ax, amax, gt);
    max = v128.bitselect(xi, max, gt);
  }
  // lanes whose group is all (near) zero: L = 0, scale 0
  const empty = f32x4.lt(amax, f32x4.splat(GROUP_MAX_EPS));
  const iscale = f32x4.div(f32x4.neg(f32x4.splat(<f32>nmax)), max);
  let sumlx = zero;
  let suml2 = zero;
  for (let i = 0; i < n; i++) {
    const xi = v128.load(at(xt, i));
    const l = clampV(nearestV(f32x4.mul(iscale, xi)), lo, hi);
    v128.store(at(Lt, i), l);
    const w = f32x4.mul(xi, xi);
    const fl = f32x4.convert_i32x4_s(l);
    sumlx = f32x4.add(sumlx, f32x4.mul(f32x4.mul(w, xi), fl));
    suml2 = f32x4.add(suml2, f32x4.mul(f32x4.mul(w, fl), fl));
  }
  for (let itry = 0; itry < 5; itry++) {
    let changed = zeroI;
    for (let i = 0; i < n; i++) {
      const xi = v128.load(at(xt, i));
      const w = f32x4.mul(xi, xi);
      const li = v128.load(at(Lt, i));
      const fli = f32x4.convert_i32x4_s(li);
      const wx = f32x4.mul(w, xi);
      let slx = f32x4.sub(sumlx, f32x4.mul(wx, fli));
      const slxPos = f32x4.gt(slx, zero);
      let sl2 = f32x4.sub(suml2, f32x4.mul(f32x4.mul(w, fli), fli));
      const newL = clampV(nearestV(f32x4.div(f32x4.mul(xi, sl2), slx)), lo, hi);
      const differs = v128.and(slxPos, v128.not(i32x4.eq(newL, li)));
      const fnl = f32x4.convert_i32x4_s(newL);
      slx = f32x4.add(slx, f32x4.mul(wx, fnl));
      sl2 = f32x4.add(sl2, f32x4.mul(f32x4.mul(w, fnl), fnl));
      const take = v128.and(differs, v128.and(f32x4.gt(sl2, zero),
        f32x4.gt(f32x4.mul(f32x4.mul(slx, slx), suml2), f32x4.mul(f32x4.mul(sumlx, sumlx), sl2))));
      v128.store(at(Lt, i), v128.bitselect(newL, li, take));
      sumlx = v128.bitselect(slx, sumlx, take);
      suml2 = v128.bitselect(sl2, suml2, take);
      changed = v128.or(changed, take);
    }
    if (!v128.any_true(changed)) break;
  }
  const off = i32x4.splat(nmax);
  for (let i = 0; i < n; i++) {
    v128.store(at(Lt, i), v128.bitselect(zeroI, i32x4.add(v128.load(at(Lt, i)), off), empty));
  }
  v128.store(out, v128.bitselect(zero, v128.bitselect(f32x4.div(sumlx, suml2), zero, f32x4.gt(suml2, zero)), empty));
}
