// Round-trip accuracy of the reference codecs: llama.cpp's own test data and thresholds, error bounds on
// random normal data derived from each format's step size, and stability of re-quantizing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GGMLType, dequantizeTensor, quantizeTensor } from './index.ts';
import { NMSE_BOUND, arrayRmse, cosineData, gaussianData, nmse, rmse } from './block-test-data.ts';

const roundTrip = (type: number, x: Float32Array): Float32Array =>
  dequantizeTensor(type, quantizeTensor(type, x, x.length), x.length);

// llama.cpp tests/test-quantize-fns.cpp: 32 * 128 values of 0.1 + 2 cos(i), array_rmse below
// MAX_QUANTIZATION_TOTAL_ERROR = 0.002 for every type listed here (that file skips Q8_1, which has no
// to_float in ggml; we hold it to the same threshold).
test('llama.cpp test-quantize-fns data: array_rmse < 0.002', (t) => {
  const x = cosineData(0, 32 * 128);
  for (const name of ['F32', 'F16', 'BF16', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q8_1'] as const) {
    const err = arrayRmse(x, roundTrip(GGMLType[name], x));
    t.diagnostic(`${name}: array_rmse ${err.toExponential(3)}`);
    assert.ok(err < 0.002, `${name}: array_rmse ${err} >= 0.002`);
  }
});

test('random normal data: NMSE within the bound of each format', (t) => {
  const x = gaussianData(32 * 2048, 42);
  t.diagnostic('type   RMSE        NMSE        bound');
  for (const [name, bound] of Object.entries(NMSE_BOUND) as [keyof typeof NMSE_BOUND, number][]) {
    const y = roundTrip(GGMLType[name], x);
    const e = nmse(x, y);
    t.diagnostic(`${name.padEnd(5)}  ${rmse(x, y).toExponential(3)}   ${e.toExponential(3)}   ${bound.toExponential(1)}`);
    assert.ok(e <= bound, `${name}: NMSE ${e} > ${bound}`);
  }
});

// Worst case per element, from the block's own extremes: half a step of rounding, plus what storing
// d (and m) as f16 costs: |q| * |d - f16(d)| <= qmax * d * 2^-11 and |m - f16(m)| <= |m| * 2^-11.
// Q4_0 and Q5_0 may also clamp the top code (+8 d or +16 d would not fit), costing one full step.
test('every element within its block bound (rounding + f16 scale)', () => {
  const x = gaussianData(32 * 512, 7, 3);
  const ulp = 2 ** -11;
  const slack = 1 + 1e-5; // float32 rounding of x * id
  const bounds: Record<string, (amax: number, min: number, max: number) => number> = {
    Q8_0: (amax) => (amax / 127) * (0.5 + 127 * ulp) * slack,
    Q8_1: (amax) => (amax / 127) * (0.5 + 127 * ulp) * slack,
    Q5_0: (amax) => (amax / 16) * (1 + 16 * ulp) * slack,
    Q4_0: (amax) => (amax / 8) * (1 + 8 * ulp) * slack,
    Q5_1: (_, min, max) => (((max - min) / 31) * (0.5 + 31 * ulp) + Math.abs(min) * ulp) * slack,
    Q4_1: (_, min, max) => (((max - min) / 15) * (0.5 + 15 * ulp) + Math.abs(min) * ulp) * slack,
  };
  for (const [name, bound] of Object.entries(bounds)) {
    const y = roundTrip(GGMLType[name as keyof typeof GGMLType], x);
    for (let b = 0; b < x.length / 32; b++) {
      const block = x.subarray(b * 32, b * 32 + 32);
      const amax = Math.max(...block.map(Math.abs));
      const limit = bound(amax, Math.min(...block), Math.max(...block));
      for (let j = 0; j < 32; j++) {
        const err = Math.abs(block[j] - y[b * 32 + j]);
        assert.ok(err <= limit, `${name} block ${b} element ${j}: error ${err} > bound ${limit}`);
      }
    }
  }
});

// Decoded values sit exactly on the grid, so encoding them again finds the same d (127 * f16(d) and
// 8 * f16(d) are exact in float32) and the same codes. For Q4_1 / Q5_1 the new d comes from a float32
// difference of decoded values and could, in a rare tie, round to a neighbouring f16; not on this data.
// (Q8_1 is left out: its s = sum * d uses the unrounded d the first time and f16(d) the second.)
test('quantize -> dequantize -> quantize reproduces the bytes', () => {
  const x = gaussianData(32 * 512, 11, 0.05);
  for (const name of ['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0'] as const) {
    const type = GGMLType[name];
    const q1 = quantizeTensor(type, x, 32 * 64);
    const y1 = dequantizeTensor(type, q1, x.length);
    const q2 = quantizeTensor(type, y1, 32 * 64);
    assert.deepEqual(q2, q1, `${name}: re-quantizing the decoded tensor changed its bytes`);
    assert.deepEqual(dequantizeTensor(type, q2, x.length), y1);
  }
});
