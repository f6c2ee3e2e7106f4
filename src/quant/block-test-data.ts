// Inputs and error metrics shared by the quant tests (imported by *.test.ts only).

/** llama.cpp tests/test-quantize-fns.cpp generate_data: 0.1 + amplitude * cosf(i + offset), in float32. */
export function cosineData(offset: number, n: number, amplitude = 2): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = 0.1 + Math.fround(amplitude * Math.fround(Math.cos(Math.fround(i + offset))));
  }
  return out;
}

// NMSE bounds on N(0, 1) data. A uniform quantizer with step D has error variance D^2 / 12. Over blocks
// of 32 normals the largest magnitude averages about 2.1 and the range about 4.1, so D is ~2.1/127 for
// Q8 (2.3e-5), 2.1/16 for Q5_0 (1.4e-3), 4.1/31 for Q5_1 (1.5e-3), 2.1/8 for Q4_0 (5.7e-3, plus the
// clamp at +7) and 4.1/15 for Q4_1 (6.2e-3); the bounds leave about 2x over those estimates. F16 and
// BF16 spread the error over +-half an ulp, and an ulp is at most 2^-10 |x| (F16) or 2^-7 |x| (BF16),
// so NMSE <= 2^-20 / 12 and 2^-14 / 12.
export const NMSE_BOUND = {
  F32: 0, F16: 2 ** -20 / 12, BF16: 2 ** -14 / 12,
  Q4_0: 1.2e-2, Q4_1: 1.2e-2, Q5_0: 3e-3, Q5_1: 3e-3, Q8_0: 1e-4, Q8_1: 1e-4,
} as const;

/** mulberry32: a small seeded generator, uniform in [0, 1), so test inputs repeat exactly. */
export function uniformSource(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples from a seeded generator (mulberry32 + Box-Muller), so runs repeat exactly. */
export function gaussianData(n: number, seed: number, sigma = 1): Float32Array {
  const uniform = uniformSource(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - uniform(); // (0, 1]: log stays finite
    out[i] = sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  }
  return out;
}

/** llama.cpp's array_rmse: sqrt(sum of squared differences) / n (note: not divided inside the root). */
export function arrayRmse(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return Math.sqrt(sum) / a.length;
}

/** Root of the mean squared difference. */
export function rmse(ref: Float32Array, got: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < ref.length; i++) sum += (ref[i] - got[i]) ** 2;
  return Math.sqrt(sum / ref.length);
}

/** Squared error over the reference's energy: sum((ref - got)^2) / sum(ref^2). */
export function nmse(ref: Float32Array, got: Float32Array): number {
  let err = 0;
  let energy = 0;
  for (let i = 0; i < ref.length; i++) {
    err += (ref[i] - got[i]) ** 2;
    energy += ref[i] ** 2;
  }
  return err / energy;
}

/** Dot product accumulated in double, as llama.cpp's test does. */
export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}
