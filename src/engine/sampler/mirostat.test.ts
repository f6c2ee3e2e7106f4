import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Candidates } from './candidates.ts';
import { MirostatSampler, MirostatV2Sampler } from './mirostat.ts';
import { Mt19937 } from './mt19937.ts';

const near = (a: number, b: number, eps = 1e-5) => assert.ok(Math.abs(a - b) <= eps, `${a} vs ${b}`);

/** Logits of a Zipf distribution p_i ∝ i^-s over n tokens, shuffled over ids. */
function zipf(n: number, s: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[(i * 7919) % n] = -s * Math.log(i + 1);
  return out;
}

test('mirostat 2 keeps the tokens whose surprise is at most mu, draws from them, and moves mu by eta * error', () => {
  // surprises 1, 2, 3, 3 bits; tau 1 → mu starts at 2: the first two stay, renormalised to 2/3 and 1/3
  const logits = [0.5, 0.25, 0.125, 0.125].map(Math.log);
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const s = new MirostatV2Sampler({ tau: 1, eta: 0.1, seed });
    assert.equal(s.mu, 2);
    const c = Candidates.from(logits);
    s.apply(c);
    assert.equal(c.size, 2);
    const u = new Mt19937(seed).nextDouble();
    const want = u <= 2 / 3 ? 0 : 1;
    assert.equal(c.selectedToken(), want, `seed ${seed}`);
    near(c.probs[0], 2 / 3);
    const surprise = want === 0 ? -Math.log2(2 / 3) : Math.log2(3);
    near(s.mu, 2 - 0.1 * (surprise - 1));
  }
});

test('mirostat 2 always keeps at least the most likely token', () => {
  const s = new MirostatV2Sampler({ tau: -1, eta: 0.1, seed: 1 }); // mu = -2: nothing passes
  const c = Candidates.from([0, 1, 2]);
  s.apply(c);
  assert.equal(c.size, 1);
  assert.equal(c.selectedToken(), 2);
});

test('mirostat 1 estimates the Zipf exponent and keeps k = (eps 2^mu / (1 - N^-eps))^(1/s) tokens', () => {
  const n = 1000, sz = 1.2;
  const s = new MirostatSampler({ tau: 5, eta: 0.1, seed: 3 });
  const c = Candidates.from(zipf(n, sz));
  s.apply(c);
  const eps = sz - 1;
  const k = Math.floor(Math.pow((eps * 2 ** 10) / (1 - Math.pow(n, -eps)), 1 / sz));
  assert.equal(c.size, k);
  assert.ok(c.selected >= 0 && c.selected < k);
  // the kept tokens are the k most likely, renormalised; mu moves by eta times the observed error
  near(Array.from(c.probs.subarray(0, k)).reduce((a, b) => a + b, 0), 1, 1e-4);
  near(s.mu, 10 - 0.1 * (-Math.log2(c.probs[c.selected]) - 5), 1e-4);
});

test('mirostat holds the observed surprise near tau over many steps (the controller works)', () => {
  const logits = zipf(2000, 1.1);
  for (const make of [(seed: number) => new MirostatSampler({ tau: 3, eta: 0.1, seed }), (seed: number) => new MirostatV2Sampler({ tau: 3, eta: 0.1, seed })]) {
    const s = make(11);
    const c = new Candidates();
    let total = 0;
    const steps = 3000;
    for (let i = 0; i < steps; i++) {
      c.load(logits);
      s.apply(c);
      // surprise under the renormalised distribution the sampler drew from
      total += -Math.log2(c.probs[c.selected]);
    }
    near(total / steps, 3, 0.25);
  }
});

test('mirostat state is per sampler: clone carries mu and the stream, reset restores 2 * tau', () => {
  const logits = zipf(500, 1.3);
  const a = new MirostatV2Sampler({ tau: 4, eta: 0.2, seed: 5 });
  const c = new Candidates();
  for (let i = 0; i < 7; i++) { c.load(logits); a.apply(c); }
  const b = a.clone();
  assert.equal(b.mu, a.mu);
  const run = (s: MirostatV2Sampler) => Array.from({ length: 20 }, () => { c.load(logits); s.apply(c); return c.selectedToken(); });
  assert.deepEqual(run(b), run(a));
  a.reset();
  assert.equal(a.mu, 8);
  const fresh = new MirostatV2Sampler({ tau: 4, eta: 0.2, seed: 5 });
  assert.deepEqual(run(a), run(fresh));
});
