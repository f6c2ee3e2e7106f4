import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Candidates } from './candidates.ts';
import { Mt19937 } from './mt19937.ts';
import { DistSampler, GreedySampler } from './select.ts';

test('mt19937 matches the C++ standard sequence for the default seed 5489', () => {
  const rng = new Mt19937();
  // The first outputs of std::mt19937{} and, per [rand.predef], its 10000th is 4123659995.
  assert.deepEqual([rng.nextUint32(), rng.nextUint32(), rng.nextUint32()], [3499211612, 581869302, 3890346734]);
  for (let i = 4; i < 10000; i++) rng.nextUint32();
  assert.equal(rng.nextUint32(), 4123659995);
});

test('mt19937 doubles take the first draw as the low word (libstdc++ generate_canonical)', () => {
  const u = new Mt19937().nextDouble();
  assert.equal(u, (3499211612 + 581869302 * 2 ** 32) / 2 ** 64);
  assert.ok(u > 0.1354 && u < 0.1355);
});

test('greedy picks the argmax and the lowest id on ties', () => {
  const c = Candidates.from([1, 3, 3, 2]);
  new GreedySampler().apply(c);
  assert.equal(c.selectedToken(), 1);
  const d = Candidates.from([5, 5, 1]);
  d.ids.set([2, 1, 0]); // a reordered set where the first maximum is not the lowest id
  d.identity = false;
  new GreedySampler().apply(d);
  assert.equal(d.selectedToken(), 1);
});

test('dist draws with the seeded stream: two equal tokens, seed 5489', () => {
  // Draw 1: u = 0.1355 → target 0.271 of total 2 → id 0. Draw 2 uses outputs 3 and 4:
  // u ≈ 3586334585 / 2^32 = 0.835 → target 1.67 → id 1.
  const s = new DistSampler(5489);
  const pick = () => {
    const c = Candidates.from([0, 0]);
    s.apply(c);
    assert.deepEqual(Array.from(c.probs.subarray(0, 2)), [0.5, 0.5]);
    return c.selectedToken();
  };
  assert.deepEqual([pick(), pick()], [0, 1]);
});

test('dist frequencies match softmax probabilities (chi-square, fixed seed)', () => {
  const p = [0.5, 0.25, 0.15, 0.1];
  const logits = new Float32Array(p.map(Math.log));
  const s = new DistSampler(1234);
  const c = new Candidates();
  const n = 20000;
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    c.load(logits);
    s.apply(c);
    counts[c.selectedToken()]++;
  }
  const chi2 = counts.reduce((acc, k, i) => acc + (k - n * p[i]) ** 2 / (n * p[i]), 0);
  assert.ok(chi2 < 16.27, `chi2 ${chi2.toFixed(2)} (df 3, p = 0.001 critical 16.27), counts ${counts}`);
  // And it is not degenerate: every token drawn in roughly its share.
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(counts[i] / n - p[i]) < 0.015, `token ${i}: ${counts[i]}`);
});

test('dist: same seed same draws, reset restarts, clone continues the same stream', () => {
  const logits = new Float32Array(50).map((_, i) => Math.sin(i) * 3);
  const run = (s: DistSampler, k: number) => {
    const out: number[] = [];
    const c = new Candidates();
    for (let i = 0; i < k; i++) {
      c.load(logits);
      s.apply(c);
      out.push(c.selectedToken());
    }
    return out;
  };
  const a = new DistSampler(7);
  const first = run(a, 30);
  assert.deepEqual(run(new DistSampler(7), 30), first);
  assert.notDeepEqual(run(new DistSampler(8), 30), first);
  const b = a.clone();
  assert.deepEqual(run(b, 10), run(a, 10));
  a.reset();
  assert.deepEqual(run(a, 30), first);
  assert.equal(a.seed, 7);
});

test('dist without a seed picks a random one and reports it', () => {
  const a = new DistSampler();
  const b = new DistSampler(a.seed);
  const logits = new Float32Array(20).map((_, i) => i % 7);
  for (let i = 0; i < 10; i++) {
    const c1 = Candidates.from(logits), c2 = Candidates.from(logits);
    a.apply(c1);
    b.apply(c2);
    assert.equal(c1.selectedToken(), c2.selectedToken());
  }
});
