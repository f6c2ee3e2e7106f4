import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmsNorm, softmax, swiglu, addBias } from './ops.ts';

test('rmsNorm divides by the root mean square and scales by the weight', () => {
  const x = Float32Array.from([3, 4, 0, 0, 1, 1, 1, 1]); // two rows of 4
  const out = new Float32Array(8);
  rmsNorm(x, Float32Array.from([1, 2, 1, 1]), 0, 4, 2, out);
  // row 0: rms = sqrt(25/4) = 2.5
  assert.deepEqual([...out.subarray(0, 4)].map((v) => +v.toFixed(6)), [1.2, 3.2, 0, 0]);
  assert.deepEqual([...out.subarray(4)].map((v) => +v.toFixed(6)), [1, 2, 1, 1]);
});

test('softmax sums to one and is shift invariant', () => {
  const a = Float32Array.from([1, 2, 3]);
  const b = Float32Array.from([101, 102, 103]);
  softmax(a);
  softmax(b);
  assert.ok(Math.abs(a[0] + a[1] + a[2] - 1) < 1e-6);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-6);
  assert.ok(Math.abs(a[2] / a[1] - Math.E) < 1e-5);
});

test('swiglu is silu(gate) * up', () => {
  const g = Float32Array.from([0, 1, -2]);
  swiglu(g, Float32Array.from([5, 2, 3]));
  assert.equal(g[0], 0);
  assert.ok(Math.abs(g[1] - 2 / (1 + Math.exp(-1))) < 1e-6);
  assert.ok(Math.abs(g[2] - (3 * -2) / (1 + Math.exp(2))) < 1e-6);
});

test('addBias adds the row to every token', () => {
  const x = new Float32Array(6);
  addBias(x, Float32Array.from([1, 2, 3]), 3, 2);
  assert.deepEqual([...x], [1, 2, 3, 1, 2, 3]);
});
