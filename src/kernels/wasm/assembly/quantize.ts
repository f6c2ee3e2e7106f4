// Activation quantizers: what ggml's CPU backend does to x before a dot product with a weight
// (vec_dot_type), bit-exact with the reference codecs in src/quant/ref, into this module's own layouts:
//   Q8 32-blocks (for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0), per token: i8 qs[cols] | f32 d[nb] | i32 sum[nb]
//   Q8_K (for the K-quants), per token: i8 qs[cols] | f32 d[nb] | i32 bsum[16 nb] | i16 bsum[16 nb] | i16 bsum32[8 nb]
//   (bsum: sums of each 16 qs; bsum32: of each 32; the i16 copies feed i32x4.dot_i16x8_s with the mins)
// d is the block scale as the reference decodes it (the f16-rounded one for Q8_0); sums are sums of qs.
// After the nTok rows, the Q8 layout repeats d, sum and d * sum transposed ([nb][pad] each, pad = nTok
// rounded up to 4), so a kernel reads the four values of a tile of four tokens with one load.

import { roundBF16, roundF16 } from './half';

/** C roundf: halfway cases away from zero. */
@inline function roundAway(v: f32): f32 {
  const t = Mathf.trunc(v);
  return Mathf.abs(v - t) >= 0.5 ? t + copysign<f32>(1, v) : t;
}

/** Largest |x| over 32 floats at p. */
@inline function absMax32(p: usize): f32 {
  let m = f32x4.abs(v128.load(p));
  for (let j: usize = 16; j < 128; j += 16) m = f32x4.max(m, f32x4.abs(v128.load(p + j)));
  return Mathf.max(Mathf.max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)),
    Mathf.max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
}

/** Q8_0 (quantize_row_q8_0_ref): d = amax / 127 stored as f16, q = roundf(x / d). */
export function quantizeQ8(x: usize, cols: i32, nTok: i32, act: usize, stride: usize): void {
  const nb = cols >> 5;
  const pad = q8Pad(nTok);
  const dT = q8Transposed(act, stride, nTok);
  const sT = dT + ((<usize>nb * pad) << 2);
  const mT = sT + ((<usize>nb * pad) << 2);
  for (let t = 0; t < nTok; t++) {
    const xr = x + <usize>t * (<usize>cols << 2);
    const ar = act + <usize>t * stride;
    const dp = ar + <usize>cols;
    const sp = dp + (<usize>nb << 2);
    for (let b = 0; b < nb; b++) {
      const xb = xr + (<usize>b << 7);
      const amax = absMax32(xb);
      const d: f32 = amax / 127;
      const id: f32 = d != 0 ? 1 / d : 0;
      let sum = 0;
      for (let j = 0; j < 32; j++) {
        const q = <i32>roundAway(load<f32>(xb + (<usize>j << 2)) * id);
        store<i8>(ar + (<usize>b << 5) + <usize>j, <i8>q);
        sum += q;
      }
      const dr = roundF16(d);
      store<f32>(dp + (<usize>b << 2), dr);
      store<i32>(sp + (<usize>b << 2), sum);
      const ti = (<usize>b * pad + <usize>t) << 2;
      store<f32>(dT + ti, dr);
      store<i32>(sT + ti, sum);
      store<f32>(mT + ti, dr * <f32>sum);
    }
  }
}

/** Where the transposed arrays of a Q8 activation buffer start (see the header). */
@inline export function q8Transposed(act: usize, stride: usize, nTok: i32): usize {
  return act + <usize>nTok * stride;
}

@inline export function q8Pad(nTok: i32): usize {
  return <usize>((nTok + 3) & ~3);
}

/** Q8_K (quantize_row_q8_K_ref): per 256, iscale = -127 / (the value of largest magnitude), d = 1 / iscale. */
export function quantizeQ8K(x: usize, cols: i32, nTok: i32, act: usize, stride: usize): void {
  const nb = cols >> 8;
  for (let t = 0; t < nTok; t++) {
    const xr = x + <usize>t * (<usize>cols << 2);
    const ar = act + <usize>t * stride;
    const dp = ar + <usize>cols;
    const bp = dp + (<usize>nb << 2);
    const hp = bp + (<usize>nb << 6);
    const pp = hp + (<usize>nb << 5);
    for (let b = 0; b < nb; b++) {
      const xb = xr + (<usize>b << 10);
      const qb = ar + (<usize>b << 8);
      const bs = bp + (<usize>b << 6);
      let amax: f32 = 0;
      let max: f32 = 0;
      for (let j = 0; j < 256; j++) {
        const v = load<f32>(xb + (<usize>j << 2));
        const a = Mathf.abs(v);
        if (a > amax) { amax = a; max = v; }
      }
      const hs = hp + (<usize>b << 5);
      const ps = pp + (<usize>b << 4);
      if (amax == 0) {
        memory.fill(qb, 0, 256);
        memory.fill(bs, 0, 64);
        memory.fill(hs, 0, 32);
        memory.fill(ps, 0, 16);
        store<f32>(dp + (<usize>b << 2), 0);
        continue;
      }
      const iscale: f32 = -127 / max;
      for (let g = 0; g < 16; g++) {
        let sum = 0;
        for (let j = 0; j < 16; j++) {
          const e = <usize>(g * 16 + j);
          const q = min(127, <i32>nearest<f32>(iscale * load<f32>(xb + (e << 2))));
          store<i8>(qb + e, <i8>q);
          sum += q;
        }
        store<i32>(bs + (<usize>g << 2), sum);
        store<i16>(hs + (<usize>g << 1), <i16>sum);
      }
      for (let g = 0; g < 8; g++) {
        store<i16>(ps + (<usize>g << 1), <i16>(load<i32>(bs + (<usize>g << 3)) + load<i32>(bs + (<usize>g << 3), 4)));
      }
      store<f32>(dp + (<usize>b << 2), 1 / iscale);
    }
  }
}

/** out = x rounded to f16 (the F16 weights' vec_dot_type), n elements. */
export function roundRowsF16(x: usize, n: i32, out: usize): void {
  for (let i: usize = 0; i < <usize>n; i++) store<f32>(out + (i << 2), roundF16(load<f32>(x + (i << 2))));
}

/** out = x rounded to bf16 (the BF16 weights' vec_dot_type), n elements. */
export function roundRowsBF16(x: usize, n: i32, out: usize): void {
  for (let i: usize = 0; i < <usize>n; i++) store<f32>(out + (i << 2), roundBF16(load<f32>(x + (i << 2))));
}
