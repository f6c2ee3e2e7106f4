// Activation quantizers: what ggml's CPU backend does to x before a dot product with a weight
// (vec_dot_type), bit-exact with the reference (src/quant/activations.ts), into this module's own layouts:
//   Q8 32-blocks (for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0), per token: i8 qs[cols] | f32 d[nb] | i32 sum[nb] | f32 s[nb]
//   (s is Q8_1's stored sum, f16(d * sum) with the unrounded d: ggml adds m * s for the _1 types' mins)
//   Q8_K (for the K-quants), per token: i8 qs[cols] | f32 d[nb] | i32 bsum[16 nb] | i16 bsum[16 nb] | i16 bsum32[8 nb]
//   (bsum: sums of each 16 qs; bsum32: of each 32; the i16 copies feed i32x4.dot_i16x8_s with the mins)
// d is the block scale as the reference decodes it (the f16-rounded one for Q8_0); sums are sums of qs.
// After the nTok rows, the Q8 layout repeats d, sum and s transposed ([nb][pad] each, pad = nTok
// rounded up to 4), so a kernel reads the four values of a tile of four tokens with one load.

import { anyInfNaN, f32ToHalf, finiteHalvesHigh, finiteHalvesLow, halfToF32, halvesHigh, halvesLow, roundBF16, roundF16 } from './half';
import { LOG2_BLOCK_Q8_0, LOG2_BLOCK_Q8_K } from './types.generated';

/** Largest |x| over 32 floats at p. */
@inline function absMax32(p: usize): f32 {
  let m = f32x4.abs(v128.load(p));
  for (let j: usize = 16; j < 128; j += 16) m = f32x4.max(m, f32x4.abs(v128.load(p + j)));
  return Mathf.max(Mathf.max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)),
    Mathf.max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
}

/**
 * Q8_0 / Q8_1 as llama.cpp's x86 SIMD quantize_row_q8_0 / q8_1 (what the reference matmul reproduces):
 * d = amax / 127 (stored as f16), q = round-half-even(x * (127 / amax)), s = f16(d * sum(q)).
 */
export function quantizeQ8(x: usize, cols: i32, nTok: i32, act: usize, stride: usize): void {
  const nb = cols >> LOG2_BLOCK_Q8_0;
  const pad = q8Pad(nTok);
  const dT = q8Transposed(act, stride, nTok);
  const sT = dT + ((<usize>nb * pad) << 2);
  const mT = sT + ((<usize>nb * pad) << 2);
  for (let t = 0; t < nTok; t++) {
    const xr = x + <usize>t * (<usize>cols << 2);
    const ar = act + <usize>t * stride;
    const dp = ar + <usize>cols;
    const sp = dp + (<usize>nb << 2);
    const s1 = sp + (<usize>nb << 2);
    for (let b = 0; b < nb; b++) {
      const xb = xr + (<usize>b << 7);
      const amax = absMax32(xb);
      const d: f32 = amax / 127;
      const id = f32x4.splat(amax != 0 ? <f32>127 / amax : 0);
      let sums = i32x4.splat(0);
      for (let h: usize = 0; h < 2; h++) {
        const xh = xb + (h << 6);
        const q0 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xh), id)));
        const q1 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xh, 16), id)));
        const q2 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xh, 32), id)));
        const q3 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xh, 48), id)));
        sums = i32x4.add(sums, i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3)));
        const q = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3));
        v128.store(ar + (<usize>b << 5) + (h << 4), q);
      }
      const sum = i32x4.extract_lane(sums, 0) + i32x4.extract_lane(sums, 1) + i32x4.extract_lane(sums, 2) + i32x4.extract_lane(sums, 3);
      const dr = roundF16(d);
      const s = roundF16(<f32>sum * d);
      store<f32>(dp + (<usize>b << 2), dr);
      store<i32>(sp + (<usize>b << 2), sum);
      store<f32>(s1 + (<usize>b << 2), s);
      const ti = (<usize>b * pad + <usize>t) << 2;
      store<f32>(dT + ti, dr);
      store<i32>(sT + ti, sum);
      store<f32>(mT + ti, s);
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
  const nb = cols >> LOG2_BLOCK_Q8_K;
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

/** out = the IEEE half bits of x (2 bytes each), n elements: how K and V enter an f16 cache. */
export function storeF16(x: usize, n: i32, out: usize): void {
  for (let i: usize = 0; i < <usize>n; i++) store<u16>(out + (i << 1), f32ToHalf(load<f32>(x + (i << 2))));
}

/** out = the f32 values of n halves at h (exact), eight at a time: a prefill's attention reads an f16 cache so. */
export function loadF16(h: usize, n: i32, out: usize): void {
  let i: usize = 0;
  for (; i + 8 <= <usize>n; i += 8) {
    const v = v128.load(h + (i << 1));
    const o = out + (i << 2);
    if (anyInfNaN(v)) {
      v128.store(o, halvesLow(v));
      v128.store(o + 16, halvesHigh(v));
    } else {
      v128.store(o, finiteHalvesLow(v));
      v128.store(o + 16, finiteHalvesHigh(v));
    }
  }
  for (; i < <usize>n; i++) store<f32>(out + (i << 2), halfToF32(load<u16>(h + (i << 1))));
}

/** out = x rounded to bf16 (the BF16 weights' vec_dot_type), n elements. */
export function roundRowsBF16(x: usize, n: i32, out: usize): void {
  for (let i: usize = 0; i < <usize>n; i++) store<f32>(out + (i << 2), roundBF16(load<f32>(x + (i << 2))));
}
