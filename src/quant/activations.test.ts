import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantizeActivations } from './activations.ts';
import { dequantizeTensor, GGMLType } from './index.ts';
import { readHalf } from './ref/half-bytes.ts';

// A block whose absolute maximum is 127 has d = 1 and id = 1, so x * id is x itself and ties are visible.
function block(head: number[]): Float32Array {
  const x = new Float32Array(32);
  x.set([127, ...head]);
  return x;
}

test('Q8_0 activations round half to even, as the x86 SIMD quantizer does', () => {
  const x = block([2.5, -2.5, 3.5, 0.5, -0.5, 1.4999]);
  const dec = dequantizeTensor(GGMLType.Q8_0, quantizeActivations(GGMLType.Q8_0, x), 32);
  assert.deepEqual([...dec.subarray(0, 7)], [127, 2, -2, 4, 0, 0, 1]);
});

test('Q8_1 stores s = f16(d * sum(q)) beside the same values', () => {
  const x = block([2.5, 3.5, -10]);
  const packed = quantizeActivations(GGMLType.Q8_1, x);
  const dec = dequantizeTensor(GGMLType.Q8_1, packed, 32);
  assert.deepEqual([...dec.subarray(0, 4)], [127, 2, 4, -10]);
  assert.equal(readHalf(packed, 2), 127 + 2 + 4 - 10);
});

test('the inverse scale is 127 / amax', () => {
  // amax 0.7: the reference computes id = 1 / (0.7 / 127) and the SIMD code 127 / 0.7; they can differ in the
  // last bit, which moves values that sit near a rounding boundary.
  const x = new Float32Array(32).fill(0);
  x[0] = 0.7;
  x[1] = Math.fround(0.7 * 60.5 / 127);
  const q = quantizeActivations(GGMLType.Q8_0, x);
  const id = Math.fround(127 / 0.7);
  const want = Math.fround(x[1] * id);
  const r = Math.round(want);
  const expect = r - want === 0.5 && r % 2 !== 0 ? r - 1 : r;
  assert.equal((q[3] << 24) >> 24, expect);
  assert.ok(Math.abs(readHalf(q, 0) - 0.7 / 127) < 1e-5);
});

test('an all-zero block packs to zeros without NaN', () => {
  const dec = dequantizeTensor(GGMLType.Q8_0, quantizeActivations(GGMLType.Q8_0, new Float32Array(64)), 64);
  assert.ok(dec.every((v) => v === 0));
});
