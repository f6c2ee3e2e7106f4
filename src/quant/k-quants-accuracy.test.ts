// K-quant round-trip and dot-product accuracy: llama.cpp's test-quantize-fns data, metric and thresholds,
// and N(0, 1) data with bounds derived below. Measured values are reported as test diagnostics.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GGMLType, dequantizeTensor, quantizeTensor } from './index.ts';
import { arrayRmse, cosineData, dot, gaussianData, nmse, rmse } from './block-test-data.ts';

const TYPES = ['Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'Q8_K'] as const;
type KType = (typeof TYPES)[number];

const roundTrip = (name: KType, x: Float32Array): Float32Array =>
  dequantizeTensor(GGMLType[name], quantizeTensor(GGMLType[name], x, x.length), x.length);

// tests/test-quantize-fns.cpp: MAX_QUANTIZATION_TOTAL_ERROR (0.002), _2BITS (0.0075), _3BITS (0.0040);
// MAX_DOT_PRODUCT_ERROR (0.02), _LOWBIT (0.04, Q2_K). Both on array_rmse = sqrt(sum d^2) / n and |dot err| / n.
const LLAMA_TOTAL_ERROR: Record<KType, number> = {
  Q2_K: 0.0075, Q3_K: 0.004, Q4_K: 0.002, Q5_K: 0.002, Q6_K: 0.002, Q8_K: 0.002,
};
const LLAMA_DOT_ERROR: Record<KType, number> = {
  Q2_K: 0.04, Q3_K: 0.02, Q4_K: 0.02, Q5_K: 0.02, Q6_K: 0.02, Q8_K: 0.02,
};

// NMSE bounds on N(0, 1). A uniform grid with step D leaves D^2 / 12 of error variance. In groups of 16
// normals the largest magnitude averages about 1.8 and the range about 3.5; in 32, 2.1 and 4.1; in 256, 2.9.
// Q2_K: 4 levels over the range of 16, D = 3.5/3 -> 0.11. Q3_K: 8 levels over +-1.8, D = 3.6/7.5 -> 0.019.
// Q4_K: 16 levels over the range of 32, D = 4.1/15 -> 6.2e-3. Q5_K: 32 levels, D = 4.1/31 -> 1.5e-3.
// Q6_K: 64 levels over +-1.8, D = 3.6/63 -> 2.7e-4. Q8_K: 255 levels over +-2.9, D = 5.8/254 -> 4.3e-5.
// The searches beat a plain grid a little and the 4/6-bit scale rounding costs a little; the bounds sit at
// about 1.5x of those estimates (measured: 0.088, 0.023, 5.1e-3, 1.3e-3, 3.1e-4, 4.8e-5).
const NMSE_BOUND: Record<KType, number> = {
  Q2_K: 0.12, Q3_K: 0.035, Q4_K: 8e-3, Q5_K: 2e-3, Q6_K: 5e-4, Q8_K: 8e-5,
};

test('llama.cpp test-quantize-fns data: total quantization error under its per-type thresholds', (t) => {
  const x = cosineData(0, 32 * 128);
  for (const name of TYPES) {
    const y = roundTrip(name, x);
    const err = arrayRmse(x, y);
    t.diagnostic(`${name}: array_rmse ${err.toExponential(3)} (rmse ${rmse(x, y).toExponential(3)})`);
    assert.ok(err < LLAMA_TOTAL_ERROR[name], `${name}: ${err} >= ${LLAMA_TOTAL_ERROR[name]}`);
  }
});

test('llama.cpp test-quantize-fns data: dot product against Q8_K activations under its thresholds', (t) => {
  const w = cosineData(0, 32 * 128);
  const x = cosineData(1, 32 * 128);
  const xq = roundTrip('Q8_K', x);
  const exact = dot(w, x);
  for (const name of TYPES) {
    const err = Math.abs(dot(roundTrip(name, w), xq) - exact) / w.length;
    t.diagnostic(`${name}: |dot error| / n ${err.toExponential(3)}`);
    assert.ok(err < LLAMA_DOT_ERROR[name], `${name}: ${err} >= ${LLAMA_DOT_ERROR[name]}`);
  }
});

test('N(0, 1) data: NMSE under the stated bounds, and more bits never lose', (t) => {
  const x = gaussianData(256 * 128, 7);
  const errors = TYPES.map((name) => {
    const y = roundTrip(name, x);
    const e = nmse(x, y);
    t.diagnostic(`${name}: rmse ${rmse(x, y).toExponential(3)}  nmse ${e.toExponential(3)}`);
    assert.ok(e < NMSE_BOUND[name], `${name}: NMSE ${e} >= ${NMSE_BOUND[name]}`);
    return e;
  });
  for (let i = 1; i < TYPES.length; i++) {
    assert.ok(errors[i] < errors[i - 1], `${TYPES[i]} (${errors[i]}) is not better than ${TYPES[i - 1]} (${errors[i - 1]})`);
  }
  // A decoder that returned zeros would score NMSE 1; one that returned x would score 0.
  assert.ok(errors[errors.length - 1] > 1e-6, 'Q8_K error is implausibly small: is the round trip a copy?');
});

test('N(0, 1) rows: dot(dequant(w), dequant(Q8_K(x))) is within the error the two NMSEs predict', (t) => {
  // For independent unit normals, dot(w + e_w, x + e_x) - dot(w, x) has variance about
  // n * (nmse_w + nmse_x); over 32 pairs the RMS error / sqrt(n) must stay under 1.5x the root of the bounds.
  const n = 1024;
  const pairs = 32;
  for (const name of TYPES) {
    let sq = 0;
    for (let p = 0; p < pairs; p++) {
      const w = gaussianData(n, 1000 + p);
      const x = gaussianData(n, 2000 + p);
      const got = dot(roundTrip(name, w), roundTrip('Q8_K', x));
      sq += (got - dot(w, x)) ** 2;
    }
    const rel = Math.sqrt(sq / pairs) / Math.sqrt(n);
    const bound = 1.5 * Math.sqrt(NMSE_BOUND[name] + NMSE_BOUND.Q8_K);
    t.diagnostic(`${name}: RMS dot error / sqrt(n) ${rel.toExponential(3)} (bound ${bound.toExponential(2)})`);
    assert.ok(rel < bound, `${name}: ${rel} >= ${bound}`);
  }
});
