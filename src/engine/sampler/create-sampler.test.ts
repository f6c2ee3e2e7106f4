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

test('samplers chooses the stages and their order; mirostat replaces them with temperature → mirostat', () => {
  const o = { seed: 1, xtcProbability: 0.5, typicalP: 0.9, repeatPenalty: 1.1 };
  assert.deepEqual(names(createSampler(o)), ['penalties', 'top-k', 'typical', 'top-p', 'min-p', 'xtc', 'temperature', 'dist']);
  assert.deepEqual(names(createSampler({ ...o, samplers: ['temperature', 'xtc', 'top_k', 'top_k'] })),
    ['temperature', 'xtc', 'top-k', 'top-k', 'dist'], 'penalties only where listed');
  assert.deepEqual(names(createSampler({ ...o, xtcThreshold: 0.6 })), ['penalties', 'top-k', 'typical', 'top-p', 'min-p', 'temperature', 'dist'],
    'a threshold above 0.5 disables XTC');
  assert.deepEqual(names(createSampler({ ...o, logitBias: [[1, 1]], mirostat: 1 })), ['logit-bias', 'temperature', 'mirostat']);
  assert.deepEqual(names(createSampler({ ...o, mirostat: 2 })), ['temperature', 'mirostat-v2']);
  assert.equal(createSampler({ mirostat: 2, seed: 7 }).seed, 7);
  assert.deepEqual(names(createSampler({ mirostat: 2, temperature: 0 })), ['greedy']);
});

test('temperature <= 0: stages before temperature that can move the argmax stay, truncation only ahead of them', () => {
  assert.deepEqual(names(createSampler({ temperature: 0, typicalP: 0.5 })), ['top-k', 'typical', 'greedy']);
  assert.deepEqual(names(createSampler({ temperature: 0, xtcProbability: 1, seed: 1 })), ['top-k', 'top-p', 'min-p', 'xtc', 'greedy']);
  assert.deepEqual(names(createSampler({ temperature: 0, xtcProbability: 1, samplers: ['temperature', 'xtc'] })), ['greedy'],
    'after temperature 0 one token is left: XTC cannot cut');
  assert.deepEqual(names(createSampler({ temperature: 0, samplers: ['top_k', 'top_p'] })), ['top-k', 'top-p', 'dist'],
    'without a temperature stage the temperature value is not used (as in llama.cpp)');
  // XTC before temperature 0 removes the top choice: the runner-up wins
  const s = createSampler({ temperature: 0, xtcProbability: 1, xtcThreshold: 0.1, topK: 0, topP: 1, minP: 0, seed: 1 });
  assert.equal(s.sample(new Float32Array([Math.log(0.5), Math.log(0.3), Math.log(0.2)])), 2);
});

test('DRY in the chain reads its breakers through the tokenizer', () => {
  assert.throws(() => createSampler({ dryMultiplier: 0.8 }), (e) => isHearthError(e, 'internal'));
  const s = createSampler({ dryMultiplier: 0.8, drySequenceBreakers: [], temperature: 0 });
  assert.deepEqual(names(s), ['dry', 'greedy']);
  s.acceptAll([0, 1, 2, 0, 1]);
  assert.equal(s.sample(new Float32Array([0, 0, 0.5, 0.4])), 3, 'the repeat "0 1 2" is penalised by 0.8');
  assert.deepEqual(names(createSampler({ dryMultiplier: 0.8, dryPenaltyLastN: 0, seed: 1 })), ['top-k', 'top-p', 'min-p', 'temperature', 'dist']);
});

test('invalid new options are invalid_argument errors naming the option', () => {
  const bad: [object, string][] = [[{ mirostat: 3 }, 'mirostat'], [{ mirostatTau: NaN }, 'mirostatTau'], [{ mirostatEta: Infinity }, 'mirostatEta'],
    [{ xtcProbability: 1.5 }, 'xtcProbability'], [{ xtcThreshold: -0.1 }, 'xtcThreshold'], [{ dryMultiplier: -1 }, 'dryMultiplier'],
    [{ dryBase: 0.5 }, 'dryBase'], [{ dryAllowedLength: 1.5 }, 'dryAllowedLength'], [{ dryPenaltyLastN: -2 }, 'dryPenaltyLastN'],
    [{ drySequenceBreakers: [1] }, 'drySequenceBreakers'], [{ samplers: ['top_k', 'nope'] }, 'samplers'], [{ minKeep: -1 }, 'minKeep']];
  for (const [o, name] of bad) {
    assert.throws(() => createSampler(o as never), (e) => isHearthError(e, 'invalid_argument') && e.message.includes(name), JSON.stringify(o));
  }
});
