// Hearth's XTC and DRY (and the dist draw around them) against llama.cpp's own samplers, through node-llama-cpp's
// sequence.evaluate: llama.cpp samples a continuation of stories260K with a seed; Hearth's chain, replayed on the
// raw logits of each of those steps with the same options, must pick the same tokens. Mirostat, which node-llama-cpp
// does not expose, through libllama's C API (llama-sampler-harness.c).
// Skips when test/reference is not installed (npm run reference:install), fails if HEARTH_REQUIRE_REFERENCE=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedPath } from '../shared.ts';
import { loadTokenizer } from '../../src/tokenizer/load.ts';
import { Candidates, createSampler, MirostatSampler, MirostatV2Sampler, type SamplingOptions } from '../../src/engine/sampler/index.ts';
import { decodeLogits, requireReference, runReference, type SampleResult } from './client.ts';
import { llamaMirostat } from './llama-sampler.ts';

const MODEL = sharedPath('models', 'stories260K.gguf');

interface Case {
  name: string;
  /** node-llama-cpp's evaluate options. */
  llama: Record<string, unknown>;
  /** The same settings as Hearth's SamplingOptions. */
  hearth: SamplingOptions;
}

const TRUNCATION = { topK: 40, topP: 0.95, minP: 0.05 };
// node-llama-cpp's greedy chain has no top-k / top-p / min-p; Hearth's (as llama-server's) would run them before XTC
const NO_TRUNCATION = { topK: 0, topP: 1, minP: 0 };

const CASES: Case[] = [
  { name: 'dist alone', llama: { temperature: 0.9, ...TRUNCATION, seed: 42 }, hearth: { temperature: 0.9, ...TRUNCATION, seed: 42 } },
  {
    name: 'XTC, sampled',
    llama: { temperature: 0.8, ...TRUNCATION, seed: 42, xtc: { probability: 0.5, threshold: 0.1 } },
    hearth: { temperature: 0.8, ...TRUNCATION, seed: 42, xtcProbability: 0.5, xtcThreshold: 0.1 },
  },
  {
    name: 'XTC, greedy',
    llama: { temperature: 0, ...NO_TRUNCATION, seed: 7, xtc: { probability: 0.7, threshold: 0.05 } },
    hearth: { temperature: 0, ...NO_TRUNCATION, seed: 7, xtcProbability: 0.7, xtcThreshold: 0.05 },
  },
  {
    name: 'DRY, greedy, default breakers',
    llama: { temperature: 0, dryRepeatPenalty: { strength: 2, base: 1.75, allowedLength: 1, lastTokens: 64 } },
    hearth: { temperature: 0, dryMultiplier: 2, dryBase: 1.75, dryAllowedLength: 1, dryPenaltyLastN: 64 },
  },
  {
    name: 'DRY and XTC, sampled, multi-token breakers',
    llama: {
      temperature: 1, ...TRUNCATION, seed: 3, xtc: { probability: 0.3, threshold: 0.1 },
      dryRepeatPenalty: { strength: 1.5, base: 2, allowedLength: 1, lastTokens: 32, sequenceBreakers: ['\n', '.', ' the', 'was a'] },
    },
    hearth: {
      temperature: 1, ...TRUNCATION, seed: 3, xtcProbability: 0.3, xtcThreshold: 0.1,
      dryMultiplier: 1.5, dryBase: 2, dryAllowedLength: 1, dryPenaltyLastN: 32, drySequenceBreakers: ['\n', '.', ' the', 'was a'],
    },
  },
];

test('llama.cpp reference: XTC and DRY pick the tokens llama.cpp picks, seeded and greedy', (t) => {
  if (!requireReference(t)) return;
  const tok = loadTokenizer(MODEL);
  const prompt = tok.encode('Once upon a time');
  const nPredict = 80;
  const res = runReference({ model: MODEL, nCtx: 256, ops: CASES.map((c) => ({ op: 'sample' as const, tokens: prompt, nPredict, options: c.llama })) });
  res.results.forEach((r, i) => {
    const { name, hearth } = CASES[i];
    const { tokens, logits } = r as SampleResult;
    assert.ok(tokens.length > 10, `${name}: ${tokens.length} tokens`);
    // node-llama-cpp's sampler lives for one evaluate call and accepts only what it generates
    const replay = (o: SamplingOptions) => {
      const chain = createSampler(o, { tokenizer: tok });
      return tokens.map((token, k) => {
        const pick = chain.sample(decodeLogits(logits[k]));
        chain.accept(token);
        return pick;
      });
    };
    assert.deepEqual(replay(hearth), tokens, `${name}: ${JSON.stringify(tok.decode(tokens))}`);
    if (hearth.xtcProbability || hearth.dryMultiplier) {
      assert.notDeepEqual(replay({ ...hearth, xtcProbability: 0, dryMultiplier: 0 }), tokens, `${name}: the sampler under test changed nothing`);
    }
    t.diagnostic(`${name}: ${JSON.stringify(tok.decode(tokens))}`);
  });
});

test('llama.cpp reference: mirostat 1 and 2 select what libllama\'s samplers select, step after step', (t) => {
  if (!requireReference(t)) return;
  let s = 12345;
  const rand = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
  const nVocab = 2000;
  const steps = 300;
  // Zipf-like rows with noise and a few banned tokens: what a model's logits look like to mirostat
  const logits = new Float32Array(nVocab * steps);
  for (let r = 0; r < steps; r++) {
    const slope = 0.6 + rand() * 1.2;
    for (let i = 0; i < nVocab; i++) {
      const rank = (i * 7919 + r * 31) % nVocab;
      logits[r * nVocab + i] = rand() < 0.01 ? -Infinity : -slope * Math.log(rank + 1) * 3 + (rand() - 0.5);
    }
  }
  for (const [version, seed, tau, eta] of [[1, 42, 5, 0.1], [2, 42, 5, 0.1], [1, 7, 3, 0.3], [2, 1234, 2.5, 0.2]] as const) {
    const want = llamaMirostat({ version, seed, tau, eta, nVocab, logits });
    const sampler = version === 1 ? new MirostatSampler({ tau, eta, seed }) : new MirostatV2Sampler({ tau, eta, seed });
    const c = new Candidates();
    const mine = Array.from({ length: steps }, (_, r) => {
      c.load(logits.subarray(r * nVocab, (r + 1) * nVocab));
      sampler.apply(c);
      return c.selectedToken();
    });
    assert.deepEqual(mine, want, `mirostat ${version}, seed ${seed}, tau ${tau}, eta ${eta}`);
    assert.ok(new Set(want).size > 20, 'the draws vary');
  }
});
