import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rope, type RopeParams } from './rope.ts';

const base: RopeParams = {
  nRot: 4, freqBase: 10000, freqScale: 1, order: 'norm', extFactor: 0, attnFactor: 1, betaFast: 32, betaSlow: 1, nCtxOrig: 2048,
};

test('position 0 leaves vectors unchanged', () => {
  const x = Float32Array.from([1, 2, 3, 4]);
  rope(x, 1, 1, 4, [0], base);
  assert.deepEqual([...x], [1, 2, 3, 4]);
});

test('norm order rotates adjacent pairs by pos * base^(-2i/nRot)', () => {
  const x = Float32Array.from([1, 0, 1, 0]);
  rope(x, 1, 1, 4, [3], base);
  // pair 0: theta = 3; pair 1: theta = 3 * 10000^(-1/2) = 0.03
  assert.ok(Math.abs(x[0] - Math.cos(3)) < 1e-6 && Math.abs(x[1] - Math.sin(3)) < 1e-6);
  assert.ok(Math.abs(x[2] - Math.cos(0.03)) < 1e-6 && Math.abs(x[3] - Math.sin(0.03)) < 1e-6);
});

test('neox order rotates (i, i + nRot/2) pairs', () => {
  const x = Float32Array.from([1, 1, 0, 0]);
  rope(x, 1, 1, 4, [3], { ...base, order: 'neox' });
  assert.ok(Math.abs(x[0] - Math.cos(3)) < 1e-6 && Math.abs(x[2] - Math.sin(3)) < 1e-6);
  assert.ok(Math.abs(x[1] - Math.cos(0.03)) < 1e-6 && Math.abs(x[3] - Math.sin(0.03)) < 1e-6);
});

test('dimensions past nRot pass through; linear scaling divides the position', () => {
  const x = Float32Array.from([1, 0, 7, 9]);
  rope(x, 1, 1, 4, [4], { ...base, nRot: 2, freqScale: 0.5 });
  assert.ok(Math.abs(x[0] - Math.cos(2)) < 1e-6 && Math.abs(x[1] - Math.sin(2)) < 1e-6);
  assert.deepEqual([x[2], x[3]], [7, 9]);
});

test('frequency factors divide theta per pair', () => {
  const x = Float32Array.from([1, 0, 1, 0]);
  rope(x, 1, 1, 4, [2], { ...base, freqFactors: Float32Array.from([4, 1]) });
  assert.ok(Math.abs(x[0] - Math.cos(0.5)) < 1e-6 && Math.abs(x[1] - Math.sin(0.5)) < 1e-6);
});

test('rotation preserves the norm of each pair', () => {
  const x = Float32Array.from({ length: 2 * 3 * 8 }, (_, i) => Math.sin(i * 1.7));
  const before = x.slice();
  rope(x, 2, 3, 8, [5, 900], { ...base, nRot: 8 });
  for (let i = 0; i < x.length; i += 2) {
    const a = Math.hypot(before[i], before[i + 1]);
    const b = Math.hypot(x[i], x[i + 1]);
    assert.ok(Math.abs(a - b) < 1e-5);
  }
});
