import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Candidates } from './candidates.ts';
import { Mt19937 } from './mt19937.ts';
import { XtcSampler } from './xtc.ts';

const live = (c: Candidates): number[] => Array.from(c.ids.subarray(0, c.size));
const probsOf = (c: Candidates): number[] => Array.from(c.probs.subarray(0, c.size));
const logs = (p: number[]) => p.map((x) => Math.log(x));

test('XTC removes every token at or above the threshold except the least likely of them (llama.cpp test-sampling cases)', () => {
  const cases: [number, number[]][] = [[0.09, [0.1]], [0.19, [0.2, 0.1]], [0.29, [0.3, 0.2, 0.1]], [0.39, [0.4, 0.3, 0.2, 0.1]]];
  for (const [threshold, expected] of cases) {
    const c = Candidates.from(logs([0.4, 0.3, 0.2, 0.1]));
    new XtcSampler({ probability: 0.99, threshold, seed: 0 }).apply(c);
    assert.equal(c.size, expected.length, `threshold ${threshold}`);
    probsOf(c).forEach((p, i) => assert.ok(Math.abs(p - expected[i]) < 1e-6, `threshold ${threshold}: ${p} vs ${expected[i]}`));
  }
});

test('XTC keeps the candidates sorted and drops whole tokens by id', () => {
  const c = Candidates.from(logs([0.1, 0.4, 0.05, 0.3, 0.15]));
  new XtcSampler({ probability: 1, threshold: 0.15, seed: 1 }).apply(c);
  // above 0.15: ids 1 (0.4), 3 (0.3), 4 (0.15); the last of them stays
  assert.deepEqual(live(c), [4, 0, 2]);
  assert.equal(c.sorted, true);
});

test('XTC with min_keep cuts only when enough candidates remain', () => {
  const logits = logs([0.4, 0.3, 0.2, 0.1]);
  const a = Candidates.from(logits);
  new XtcSampler({ probability: 1, threshold: 0.19, minKeep: 3, seed: 1 }).apply(a);
  assert.equal(a.size, 4, '2 would remain, fewer than 3');
  const b = Candidates.from(logits);
  new XtcSampler({ probability: 1, threshold: 0.19, minKeep: 2, seed: 1 }).apply(b);
  assert.deepEqual(live(b), [2, 3]);
});

test('XTC cuts on the steps its own seeded float draw is <= probability; no draw under two candidates', () => {
  const logits = logs([0.5, 0.3, 0.2]);
  for (const seed of [0, 7, 12345]) {
    const s = new XtcSampler({ probability: 0.5, threshold: 0.25, seed });
    const rng = new Mt19937(seed);
    for (let step = 0; step < 50; step++) {
      const c = Candidates.from(logits);
      s.apply(c);
      assert.equal(c.size === 2, rng.nextFloat() <= 0.5, `seed ${seed} step ${step}`);
      if (step % 10 === 0) s.apply(Candidates.from([1])); // one candidate: no draw
    }
  }
});

test('XTC: probability 0 or a threshold above 0.5 never cuts; clone continues the same stream', () => {
  const logits = logs([0.6, 0.35, 0.05]);
  for (const o of [{ probability: 0, threshold: 0.1 }, { probability: 1, threshold: 0.51 }]) {
    const c = Candidates.from(logits);
    new XtcSampler({ ...o, seed: 3 }).apply(c);
    assert.equal(c.size, 3);
  }
  const a = new XtcSampler({ probability: 0.3, threshold: 0.3, seed: 9 });
  for (let i = 0; i < 5; i++) a.apply(Candidates.from(logits));
  const b = a.clone();
  const run = (s: XtcSampler) => Array.from({ length: 30 }, () => { const c = Candidates.from(logits); s.apply(c); return c.size; });
  assert.deepEqual(run(b), run(a));
});

test('mt19937 nextFloat is one draw scaled by 2^-32 in float (uniform_real_distribution<float>)', () => {
  const a = new Mt19937(5489);
  const b = new Mt19937(5489);
  assert.equal(b.nextUint32(), 3499211612); // std::mt19937's first output
  assert.equal(a.nextFloat(), Math.fround(3499211612) / 2 ** 32);
});
