// Reference element-wise and normalisation kernels in plain TypeScript: the oracle for wasm/webgpu.
// Layouts are row-major with the innermost dimension last: x is [nTokens, n].

/** out[t] = x[t] / rms(x[t]) * weight, per token row of length n. */
export function rmsNorm(x: Float32Array, weight: Float32Array, eps: number, n: number, nTokens: number, out: Float32Array): void {
  for (let t = 0; t < nTokens; t++) {
    const o = t * n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[o + i] * x[o + i];
    const scale = 1 / Math.sqrt(ss / n + eps);
    for (let i = 0; i < n; i++) out[o + i] = x[o + i] * scale * weight[i];
  }
}

/** a += b, element-wise over the first n elements. */
export function addInPlace(a: Float32Array, b: Float32Array, n = a.length): void {
  for (let i = 0; i < n; i++) a[i] += b[i];
}

/** Broadcast-add a bias row of length n to every token row: x is [nTokens, n]. */
export function addBias(x: Float32Array, bias: Float32Array, n: number, nTokens: number): void {
  for (let t = 0; t < nTokens; t++) {
    const o = t * n;
    for (let i = 0; i < n; i++) x[o + i] += bias[i];
  }
}

/** gate = silu(gate) * up, element-wise (SwiGLU). */
export function swiglu(gate: Float32Array, up: Float32Array, n = gate.length): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    gate[i] = (g / (1 + Math.exp(-g))) * up[i];
  }
}

/** In-place softmax of x[0..n). */
export function softmax(x: Float32Array, n = x.length, offset = 0): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (x[offset + i] > max) max = x[offset + i];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(x[offset + i] - max);
    x[offset + i] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let i = 0; i < n; i++) x[offset + i] *= inv;
}
