import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenLogprobs } from './token-info.ts';

test('logprob is the log-softmax of the raw logits', () => {
  // exp: 1, 2, 4, 1 → probabilities 1/8, 2/8, 4/8, 1/8.
  const logits = new Float32Array([0, Math.LN2, 2 * Math.LN2, 0].map((x) => x + 10));
  const r = tokenLogprobs(logits, 1, 0);
  assert.ok(Math.abs(r.logprob - Math.log(0.25)) < 1e-6);
  assert.deepEqual(r.top, []);
});

test('top alternatives are best first with ties by lower id, capped at the vocabulary', () => {
  const logits = new Float32Array([0, Math.LN2, 2 * Math.LN2, 0]);
  const r = tokenLogprobs(logits, 0, 3);
  assert.deepEqual(r.top.map((t) => t.id), [2, 1, 0]);
  assert.ok(Math.abs(r.top[0].logprob - Math.log(0.5)) < 1e-6);
  assert.deepEqual(tokenLogprobs(logits, 0, 10).top.map((t) => t.id), [2, 1, 0, 3]);
  const sum = tokenLogprobs(logits, 0, 4).top.reduce((a, t) => a + Math.exp(t.logprob), 0);
  assert.ok(Math.abs(sum - 1) < 1e-9);
});
