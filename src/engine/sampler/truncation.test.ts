import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Candidates } from './candidates.ts';
import { MinPSampler, TopKSampler, TopPSampler, TypicalSampler } from './truncation.ts';
import { TemperatureSampler } from './temperature.ts';

const live = (c: Candidates): number[] => Array.from(c.ids.subarray(0, c.size));

test('top-k keeps the k highest logits in descending order', () => {
  const c = Candidates.from([1, 5, 3, 4]);
  new TopKSampler(2).apply(c);
  assert.deepEqual(live(c), [1, 3]);
  assert.deepEqual(Array.from(c.logits.subarray(0, 2)), [5, 4]);
  assert.equal(c.sorted, true);
});

test('top-k: k <= 0 keeps everything, k > size keeps everything sorted', () => {
  const c = Candidates.from([1, 5, 3, 4]);
  new TopKSampler(0).apply(c);
  assert.deepEqual(live(c), [0, 1, 2, 3]);
  new TopKSampler(10).apply(c);
  assert.deepEqual(live(c), [1, 3, 2, 0]);
});

test('top-k on a large set matches a full sort (heap selection, ties by lower id)', () => {
  const n = 5000;
  const logits = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    logits[i] = Math.floor((s >>> 8) / 65536) / 4; // few distinct values: many ties
  }
  const expected = Array.from({ length: n }, (_, i) => i)
    .sort((a, b) => logits[b] - logits[a] || a - b).slice(0, 300);
  const c = Candidates.from(logits);
  new TopKSampler(300).apply(c);
  assert.deepEqual(live(c), expected);
});

test('top-p keeps the token that makes the cumulative probability reach p', () => {
  // Uniform over 4: probabilities are exactly 0.25, so cum = 0.5 after two tokens.
  const at = (p: number) => {
    const c = Candidates.from([0, 0, 0, 0]);
    new TopPSampler(p).apply(c);
    return live(c);
  };
  assert.deepEqual(at(0.5), [0, 1]);          // 0.5 >= 0.5: stop at the second token
  assert.deepEqual(at(0.5000001), [0, 1, 2]); // needs a third
  assert.deepEqual(at(0.0), [0]);             // always keeps one
  assert.deepEqual(at(1.0), [0, 1, 2, 3]);    // p >= 1 is a no-op
});

test('top-p on distinct logits', () => {
  // softmax([1,5,3,4]): ids by prob 1 (0.6572), 3 (0.2418), 2 (0.0889), 0 (0.0120).
  const c = Candidates.from([1, 5, 3, 4]);
  new TopPSampler(0.9).apply(c); // 0.6572 + 0.2418 = 0.8990 < 0.9, so id 2 is needed too
  assert.deepEqual(live(c), [1, 3, 2]);
  const d = Candidates.from([1, 5, 3, 4]);
  new TopPSampler(0.85).apply(d);
  assert.deepEqual(live(d), [1, 3]);
});

test('top-p with minKeep keeps at least that many', () => {
  const c = Candidates.from([1, 5, 3, 4]);
  new TopPSampler(0.5, 3).apply(c);
  assert.deepEqual(live(c), [1, 3, 2]);
});

test('top-p over a large unsorted set grows its sorted prefix when needed', () => {
  const n = 4000;
  const logits = new Float32Array(n); // flat: p = 0.5 needs 2000 tokens, more than the first 256
  const c = Candidates.from(logits);
  new TopPSampler(0.5).apply(c);
  assert.ok(c.size >= 1999 && c.size <= 2001, `size ${c.size}`);
  assert.deepEqual(live(c).slice(0, 5), [0, 1, 2, 3, 4]);
});

test('min-p keeps tokens with p >= minP * p_max, relative to the most likely token', () => {
  // Probabilities relative to the max: 1, 0.5, 0.1, 0.04.
  const logits = [0, Math.log(0.5), Math.log(0.1), Math.log(0.04)];
  const c = Candidates.from(logits);
  new MinPSampler(0.05).apply(c);
  assert.deepEqual(live(c), [0, 1, 2]);
  const d = Candidates.from(logits);
  new MinPSampler(0.3).apply(d);
  assert.deepEqual(live(d), [0, 1]);
  // The bar is relative: shifting every logit keeps the same set.
  const e = Candidates.from(logits.map((x) => x + 7));
  new MinPSampler(0.3).apply(e);
  assert.deepEqual(live(e), [0, 1]);
});

test('min-p boundary is inclusive and keeps the original order', () => {
  const c = Candidates.from([1.5, 2, 0, 2]);
  new MinPSampler(1).apply(c); // ln 1 = 0: keep logits >= max exactly
  assert.deepEqual(live(c), [1, 3]);
});

test('min-p with minKeep falls back to the best minKeep tokens', () => {
  const c = Candidates.from([0, -10, -20, -5]);
  new MinPSampler(0.5, 2).apply(c);
  assert.deepEqual(live(c), [0, 3]);
});

test('typical-p orders by |-ln p - H| and stops once cum > p (strictly)', () => {
  // p = 1/2, 1/4, 1/8, 1/8: H = 1.75 ln2; -ln p = 1, 2, 3, 3 (× ln2); distances 0.75, 0.25, 1.25, 1.25.
  const logits = [3, 2, 1, 1].map((x) => x * Math.LN2);
  const c = Candidates.from(logits);
  new TypicalSampler(0.5).apply(c);
  assert.deepEqual(live(c), [1, 0]); // 0.25, then 0.75 > 0.5
  assert.equal(c.sorted, false);
  // Uniform: all distances 0; cum 0.25, 0.5 (not > 0.5), 0.75.
  const u = Candidates.from([0, 0, 0, 0]);
  new TypicalSampler(0.5).apply(u);
  assert.deepEqual(live(u), [0, 1, 2]);
});

test('temperature divides logits; t <= 0 keeps only the first maximum', () => {
  const c = Candidates.from([1, -2, 4]);
  new TemperatureSampler(0.5).apply(c);
  assert.deepEqual(Array.from(c.logits.subarray(0, 3)), [2, -4, 8]);
  const g = Candidates.from([1, 4, 4, 2]);
  new TemperatureSampler(0).apply(g);
  assert.deepEqual(Array.from(g.logits.subarray(0, 4)), [-Infinity, 4, -Infinity, -Infinity]);
});

test('softmax of candidates sums to one and sorts on request', () => {
  const c = Candidates.from([1, 5, 3, 4]);
  c.softmax(true);
  assert.deepEqual(live(c), [1, 3, 2, 0]);
  const z = Math.exp(1) + Math.exp(5) + Math.exp(3) + Math.exp(4);
  const expected = [5, 4, 3, 1].map((x) => Math.exp(x) / z);
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(c.probs[i] - expected[i]) < 1e-6);
});

test('top-p over random logits equals the prefix of a full sort', () => {
  const n = 3000;
  const logits = new Float32Array(n);
  let s = 99;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    logits[i] = (s / 2 ** 32) * 12 - 6;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  const max = logits[order[0]];
  const z = order.reduce((acc, i) => acc + Math.exp(logits[i] - max), 0);
  let cum = 0;
  let m = 0;
  while (cum < 0.9) cum += Math.exp(logits[order[m++]] - max) / z;
  const c = Candidates.from(logits);
  new TopPSampler(0.9).apply(c);
  assert.deepEqual(live(c), order.slice(0, m));
  assert.ok(m > 256, `needs more than the first sorted chunk (m = ${m})`);
});

test('partial sort keeps every candidate live and sorts at least k in front (with -Inf entries)', () => {
  const n = 6000;
  const logits = new Float32Array(n);
  let s = 7;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    logits[i] = i % 13 === 0 ? -Infinity : (s / 2 ** 32) * 30 - 15;
  }
  const expected = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  for (const k of [1, 40, 500, 3000]) {
    const c = Candidates.from(logits);
    const m = c.sortTop(k);
    assert.ok(m >= k, `sorted ${m} < ${k}`);
    assert.deepEqual(live(c).slice(0, m), expected.slice(0, m));
    assert.deepEqual(live(c).sort((a, b) => a - b), expected.slice().sort((a, b) => a - b));
    for (let i = 0; i < n; i++) assert.equal(c.logits[i], logits[c.ids[i]]);
  }
});
