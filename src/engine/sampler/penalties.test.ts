import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Candidates } from './candidates.ts';
import { LogitBiasSampler, PenaltiesSampler } from './penalties.ts';

const logitsOf = (c: Candidates): number[] => Array.from(c.logits.subarray(0, c.size));

test('repeat penalty divides positive and multiplies negative logits; frequency and presence subtract', () => {
  const s = new PenaltiesSampler({ lastN: 64, repeat: 2, frequency: 0.5, presence: 0.25 });
  for (const t of [0, 0, 1]) s.accept(t);
  const c = Candidates.from([2, -1, 0.5, 3]);
  s.apply(c);
  // id 0 (count 2): 2 / 2 - (2 * 0.5 + 0.25) = -0.25; id 1 (count 1): -1 * 2 - (0.5 + 0.25) = -2.75.
  assert.deepEqual(logitsOf(c), [-0.25, -2.75, 0.5, 3]);
});

test('a zero logit is multiplied (stays 0) by the repeat penalty', () => {
  const s = new PenaltiesSampler({ lastN: 8, repeat: 1.5, frequency: 0, presence: 0 });
  s.accept(0);
  const c = Candidates.from([0, 1]);
  s.apply(c);
  assert.deepEqual(logitsOf(c), [0, 1]);
});

test('only the last N accepted tokens count', () => {
  const s = new PenaltiesSampler({ lastN: 2, repeat: 1, frequency: 1, presence: 0 });
  for (const t of [0, 0, 1]) s.accept(t); // window [0, 1]
  const c = Candidates.from([5, 5, 5]);
  s.apply(c);
  assert.deepEqual(logitsOf(c), [4, 4, 5]);
  s.accept(1); // window [1, 1]
  const d = Candidates.from([5, 5, 5]);
  s.apply(d);
  assert.deepEqual(logitsOf(d), [5, 3, 5]);
});

test('lastN = -1 counts every accepted token; lastN = 0 disables', () => {
  const all = new PenaltiesSampler({ lastN: -1, repeat: 1, frequency: 1, presence: 0 });
  for (let i = 0; i < 100; i++) all.accept(2);
  const c = Candidates.from([0, 0, 0]);
  all.apply(c);
  assert.deepEqual(logitsOf(c), [0, 0, -100]);
  const off = new PenaltiesSampler({ lastN: 0, repeat: 2, frequency: 1, presence: 1 });
  off.accept(0);
  const d = Candidates.from([1, 1]);
  off.apply(d);
  assert.deepEqual(logitsOf(d), [1, 1]);
});

test('penalties apply by id on a reordered set too', () => {
  const s = new PenaltiesSampler({ lastN: 4, repeat: 2, frequency: 0, presence: 0 });
  s.accept(3);
  const c = Candidates.from([1, 2, 3, 4]);
  c.sortTop(4); // ids now [3, 2, 1, 0]
  s.apply(c);
  assert.deepEqual(Array.from(c.ids.subarray(0, 4)), [3, 2, 1, 0]);
  assert.deepEqual(logitsOf(c), [2, 3, 2, 1]);
  assert.equal(c.sorted, false);
});

test('reset forgets history; clone copies it', () => {
  const s = new PenaltiesSampler({ lastN: 4, repeat: 1, frequency: 1, presence: 0 });
  s.accept(0);
  const k = s.clone();
  s.reset();
  const c = Candidates.from([0, 0]);
  s.apply(c);
  assert.deepEqual(logitsOf(c), [0, 0]);
  const d = Candidates.from([0, 0]);
  k.apply(d);
  assert.deepEqual(logitsOf(d), [-1, 0]);
});

test('logit bias adds per token and can ban with -Infinity', () => {
  const b = new LogitBiasSampler([[1, 2.5], [2, -Infinity], [9, 1]]);
  const c = Candidates.from([0, 0, 0]);
  b.apply(c);
  assert.deepEqual(logitsOf(c), [0, 2.5, -Infinity]);
});
