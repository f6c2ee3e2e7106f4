// Reference LayerNorm: ggml_norm (subtract the mean, divide by the standard deviation) followed by the optional
// ggml_mul with a weight row and ggml_add of a bias row, as llama.cpp's build_norm(LLM_NORM) does.
// Every step rounds to f32 where ggml's CPU code does (ggml-cpu/ops.cpp ggml_compute_forward_norm_f32: the mean
// from a double sum, y = x - mean, variance = sum(y * y) / n, y *= 1 / sqrtf(variance + eps)); the sums are
// f64 here, so only their order differs from ggml's SIMD sums.

const fr = Math.fround;

/** out[t] = (x[t] - mean) / sqrt(var + eps) * weight + bias, per token row of length n; weight, bias optional. */
export function layerNorm(x: Float32Array, weight: Float32Array | undefined, bias: Float32Array | undefined, eps: number,
  n: number, nTokens: number, out: Float32Array): void {
  const e = fr(eps);
  for (let t = 0; t < nTokens; t++) {
    const o = t * n;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += x[o + i];
    const mean = fr(fr(sum) / n);
    let ss = 0;
    for (let i = 0; i < n; i++) {
      const v = fr(x[o + i] - mean);
      ss += v * v;
    }
    const scale = fr(1 / fr(Math.sqrt(fr(fr(ss / n) + e))));
    for (let i = 0; i < n; i++) {
      let y = fr(fr(x[o + i] - mean) * scale);
      if (weight) y = fr(y * weight[i]);
      if (bias) y = fr(y + bias[i]);
      out[o + i] = y;
    }
  }
}
