// Dot products the way llama.cpp's CPU matmul computes them: the weight row decoded from its type, the
// activations rounded through the type's vec_dot_type, compared with the exact f32 dot product.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GGMLType, dequantizeTensor, quantTraitsOrThrow, quantizeTensor, roundTripActivations } from './index.ts';
import { NMSE_BOUND, cosineData, dot, gaussianData } from './block-test-data.ts';

const TYPES = ['F32', 'F16', 'BF16', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q8_1'] as const;

function quantizedDot(type: number, w: Float32Array, x: Float32Array): number {
  const wq = dequantizeTensor(type, quantizeTensor(type, w, w.length), w.length);
  return dot(wq, roundTripActivations(quantTraitsOrThrow(type).vecDotType, x));
}

test('vec_dot_type per type matches ggml-cpu (Q4_1 and Q5_1 pair with Q8_1)', () => {
  const expected = { F32: 'F32', F16: 'F16', BF16: 'BF16', Q4_0: 'Q8_0', Q4_1: 'Q8_1', Q5_0: 'Q8_0',
    Q5_1: 'Q8_1', Q8_0: 'Q8_0', Q8_1: 'Q8_1' } as const;
  for (const name of TYPES) {
    assert.equal(quantTraitsOrThrow(GGMLType[name]).vecDotType, GGMLType[expected[name]], name);
  }
});

// llama.cpp tests/test-quantize-fns.cpp dot_product_error: |dot - exact| / n < MAX_DOT_PRODUCT_ERROR = 0.02,
// weights 0.1 + 2 cos(i), activations 0.1 + 2 cos(i + 1), n = 32 * 128.
test('llama.cpp test-quantize-fns dot product error < 0.02', (t) => {
  const n = 32 * 128;
  const w = cosineData(0, n);
  const x = cosineData(1, n);
  const exact = dot(w, x);
  for (const name of TYPES) {
    const err = Math.abs(quantizedDot(GGMLType[name], w, x) - exact) / n;
    t.diagnostic(`${name}: ${err.toExponential(3)}`);
    assert.ok(err < 0.02, `${name}: dot product error ${err}`);
  }
});

// Independent N(0, 1) weights and activations: the error w_err . x + w . x_err is a sum of n terms with
// random signs, so relative to |w| |x| it is about sqrt(NMSE / n) per side. Allow 5 of those.
test('random normal dot products: relative error within 5 sqrt(NMSE / n) per side', (t) => {
  const n = 32 * 1024;
  const w = gaussianData(n, 101);
  const x = gaussianData(n, 202);
  const exact = dot(w, x);
  const scale = Math.sqrt(dot(w, w) * dot(x, x));
  for (const name of TYPES) {
    const vdt = quantTraitsOrThrow(quantTraitsOrThrow(GGMLType[name]).vecDotType).name as keyof typeof NMSE_BOUND;
    const tol = 5 * (Math.sqrt(NMSE_BOUND[name] / n) + Math.sqrt(NMSE_BOUND[vdt] / n));
    const rel = Math.abs(quantizedDot(GGMLType[name], w, x) - exact) / scale;
    t.diagnostic(`${name} x ${vdt}: ${rel.toExponential(3)} (tolerance ${tol.toExponential(2)})`);
    assert.ok(rel <= tol, `${name}: relative dot error ${rel} > ${tol}`);
  }
});

test('roundTripActivations: F32 is an exact copy, block types equal quantize + dequantize', () => {
  const x = gaussianData(96, 8);
  const same = roundTripActivations(GGMLType.F32, x);
  assert.notEqual(same, x);
  assert.deepEqual(same, x);
  const viaTensor = dequantizeTensor(GGMLType.Q8_0, quantizeTensor(GGMLType.Q8_0, x, 96), 96);
  assert.deepEqual(roundTripActivations(GGMLType.Q8_0, x), viaTensor);
  // Q8_1 stores the same d and quants as Q8_0 (plus s), so activations come out identical.
  assert.deepEqual(roundTripActivations(GGMLType.Q8_1, x), viaTensor);
  const halves = roundTripActivations(GGMLType.F16, x);
  assert.ok(halves.some((v, i) => v !== x[i]), 'F16 activations were not rounded');
});
