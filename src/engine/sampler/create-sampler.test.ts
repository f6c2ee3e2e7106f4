import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHearthError } from '../../util/errors.ts';
import { createSampler } from './create-sampler.ts';
import { SamplerChain } from './sampler.ts';
import { GreedySampler } from './select.ts';

const names = (c: SamplerChain): string[] => c.samplers.map((s) => s.name);

function randomLogits(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 10 - 5;
  }
  return out;
}

test('default chain follows llama.cpp order', () => {
  assert.deepEqual(names(createSampler({ seed: 1 })), ['top-k', 'top-p', 'min-p', 'temperature', 'dist']);
  const all = createSampler({ seed: 1, typicalP: 0.9, repeatPenalty: 1.1, logitBias: [[3, 1]] });
  assert.deepEqual(names(all), ['logit-bias', 'penalties', 'top-k', 'typical', 'top-p', 'min-p', 'temperature', 'dist']);
});

test('temperature <= 0 is greedy after penalties', () => {
  const s = createSampler({ temperature: 0, repeatPenalty: 2 });
  assert.deepEqual(names(s), ['penalties', 'greedy']);
  assert.equal(s.seed, undefined);
  const logits = new Float32Array([1, 4, 3, 0]);
  assert.equal(s.sample(logits), 1);
  s.accept(1); // 4 / 2 = 2 < 3
  assert.equal(s.sample(logits), 2);
  assert.deepEqual(Array.from(logits), [1, 4, 3, 0], 'input logits untouched');
});

test('top-k 1 always returns the argmax whatever the seed', () => {
  const logits = randomLogits(1000, 3);
  let argmax = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[argmax]) argmax = i;
  for (const seed of [1, 2, 3]) assert.equal(createSampler({ seed, topK: 1, temperature: 1.5 }).sample(logits), argmax);
});

test('seeded chains are reproducible; different seeds differ', () => {
  const logits = randomLogits(32000, 11);
  const run = (seed: number) => {
    const s = createSampler({ seed, temperature: 1.2, topK: 0, topP: 1, minP: 0 });
    assert.equal(s.seed, seed);
    return Array.from({ length: 40 }, () => s.sample(logits));
  };
  const a = run(42);
  assert.deepEqual(run(42), a);
  assert.notDeepEqual(run(43), a);
});

test('default chain only returns tokens inside the top-k', () => {
  const logits = randomLogits(5000, 5);
  const order = Array.from({ length: 5000 }, (_, i) => i).sort((x, y) => logits[y] - logits[x]);
  const top40 = new Set(order.slice(0, 40));
  const s = createSampler({ seed: 9, temperature: 5 }); // hot, so truncation does the work
  for (let i = 0; i < 200; i++) assert.ok(top40.has(s.sample(logits)));
});

test('invalid options are invalid_argument errors', () => {
  const bad = [{ temperature: NaN }, { topK: -1 }, { topK: 2.5 }, { topP: 1.5 }, { minP: -0.1 }, { typicalP: 0 },
    { repeatPenalty: 0 }, { repeatLastN: -2 }, { frequencyPenalty: Infinity }, { seed: 1.5 },
    { logitBias: [[-1, 1]] as [number, number][] }];
  for (const o of bad) {
    assert.throws(() => createSampler(o), (e) => isHearthError(e, 'invalid_argument'), JSON.stringify(o));
  }
});

test('a chain that never selects is an internal error', () => {
  const chain = new SamplerChain([]);
  assert.throws(() => chain.sample(new Float32Array([1, 2])), (e) => isHearthError(e, 'internal'));
  assert.equal(new SamplerChain([new GreedySampler()]).sample(new Float32Array([1, 2])), 1);
});

test('sampleWithInfo reports raw log-softmax, not the truncated distribution', () => {
  const s = createSampler({ topK: 1, seed: 1 });
  const logits = new Float32Array([0, Math.log(3), -Infinity]);
  const info = s.sampleWithInfo(logits, 5);
  assert.equal(info.token, 1);
  assert.ok(Math.abs(info.logprob - Math.log(0.75)) < 1e-6);
  assert.deepEqual(info.top.map((t) => t.id), [1, 0, 2]);
  assert.ok(Math.abs(info.top[1].logprob - Math.log(0.25)) < 1e-6);
  assert.equal(info.top[2].logprob, -Infinity);
});
