// Reference GELU activations, as ggml's CPU backend computes them (ggml/src/ggml-cpu/vec.h):
//   gelu (ggml_gelu, the tanh approximation): vec.h defines GGML_GELU_FP16, so ggml_vec_gelu_f32 gives 0 for
//     x <= -10, x for x >= 10, and otherwise looks x up in a 65536-entry f16 table: the input is rounded to f16
//     and the result is f16(ggml_gelu_f32(that f16)), with ggml_gelu_f32(x) =
//     0.5f*x*(1.0f + tanhf(SQRT_2_OVER_PI*x*(1.0f + GELU_COEF_A*x*x))) in f32 (the table is filled at
//     ggml_cpu_init). So the tanh GELU is exact to f16 precision only, by design.
//   geluErf (ggml_gelu_erf): 0.5f*x*(1.0f + erff(x*SQRT_2_INV)) in f32, no table.
//   geglu (ggml_geglu_split(gate, up)): the table gelu of gate times up in f32 (0 for gate <= -10, gate * up
//     for gate >= 10), as ggml_vec_geglu_f32.

import { roundF16 } from '../../util/f16.ts';

const fr = Math.fround;
const GELU_COEF_A = fr(0.044715);
const SQRT_2_OVER_PI = fr(0.79788456080286535587989211986876);
const SQRT_2_INV = fr(0.70710678118654752440084436210484);

/** ggml_gelu_f32: the tanh form with every operation rounded to f32 (tanh itself correctly rounded here). */
export function geluF32(x: number): number {
  const inner = fr(fr(SQRT_2_OVER_PI * x) * fr(1 + fr(fr(GELU_COEF_A * x) * x)));
  return fr(fr(0.5 * x) * fr(1 + fr(Math.tanh(inner))));
}

/** The tanh GELU of one f32 value as ggml's CPU table path gives it. */
export function geluOne(x: number): number {
  if (x <= -10) return 0;
  if (x >= 10) return x;
  return roundF16(geluF32(roundF16(x)));
}

/** x = gelu(x) (tanh form, ggml's f16 table), n elements. */
export function gelu(x: Float32Array, n = x.length): void {
  for (let i = 0; i < n; i++) x[i] = geluOne(x[i]);
}

/** gate = gelu(gate) * up (tanh form, ggml's f16 table), n elements. */
export function geglu(gate: Float32Array, up: Float32Array, n = gate.length): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    gate[i] = g <= -10 ? 0 : g >= 10 ? fr(g * up[i]) : fr(geluOne(g) * up[i]);
  }
}

/** x = 0.5 x (1 + erf(x / sqrt 2)) in f32 steps, n elements (ggml_gelu_erf). */
export function geluErf(x: Float32Array, n = x.length): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    x[i] = fr(fr(0.5 * v) * fr(1 + fr(erf(fr(v * SQRT_2_INV)))));
  }
}

/**
 * erf in f64 to about 1e-15: its Maclaurin series for |x| < 3, else 1 - erfc from the continued fraction
 * erfc(x) = exp(-x^2) / sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...)))). JavaScript has no Math.erf.
 */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (Number.isNaN(x)) return NaN;
  let r: number;
  if (a < 3) {
    // sum_k (-1)^k x^(2k+1) / (k! (2k+1)), times 2/sqrt(pi)
    let term = a;
    let sum = a;
    const x2 = a * a;
    for (let k = 1; k < 100; k++) {
      term *= -x2 / k;
      const d = term / (2 * k + 1);
      sum += d;
      if (Math.abs(d) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else if (a < 10) {
    let f = a;
    for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
    r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  } else {
    r = 1;
  }
  return x < 0 ? -r : r;
}
