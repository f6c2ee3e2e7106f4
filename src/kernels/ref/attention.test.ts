import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attention } from './attention.ts';

const shape = { nHead: 2, nHeadKv: 1, headDim: 2, scale: 1, f16: false };

test('one cached position: the output is its value for every head', () => {
  const k = Float32Array.from([1, 0]);
  const v = Float32Array.from([5, -3]);
  const out = new Float32Array(4);
  attention(Float32Array.from([1, 1, -1, 2]), k, v, 1, 0, shape, out);
  assert.deepEqual([...out], [5, -3, 5, -3]);
});

test('weights are softmax(q·k * scale) over positions 0..pos, causal within the batch', () => {
  // cache of 2 positions, 1 kv head; query tokens at positions 0 and 1
  const k = Float32Array.from([1, 0, 0, 1]);
  const v = Float32Array.from([1, 0, 0, 1]);
  const q = Float32Array.from([2, 0, 2, 0, 0, 3, 0, 3]); // [2 tokens, 2 heads, 2]
  const out = new Float32Array(8);
  attention(q, k, v, 2, 0, { ...shape, scale: 0.5 }, out);
  // token 0 sees only position 0
  assert.deepEqual([...out.subarray(0, 2)], [1, 0]);
  // token 1, q = (0, 3): scores 0 and 1.5 -> weights 1/(1+e^1.5), e^1.5/(1+e^1.5)
  const w1 = Math.exp(1.5) / (1 + Math.exp(1.5));
  assert.ok(Math.abs(out[4] - (1 - w1)) < 1e-6 && Math.abs(out[5] - w1) < 1e-6);
});
