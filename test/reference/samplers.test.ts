// Hearth's XTC and DRY (and the dist draw around them) against llama.cpp's own samplers, through node-llama-cpp's
// sequence.evaluate: llama.cpp samples a continuation of stories260K with a seed; Hearth's chain, replayed on the
// raw logits of each of those steps with the same options, must pick the same tokens.
// Skips when test/reference is not installed (npm run reference:install), fails if HEARTH_REQUIRE_REFERENCE=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedPath } from '../shared.ts';
import { loadTokenizer } from '../../src/tokenizer/load.ts';
import { createSampler, type SamplingOptions } from '../../src/engine/sampler/index.ts';
import { decodeLogits, requireReference, runReference, type SampleResult } from './client.ts';

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
