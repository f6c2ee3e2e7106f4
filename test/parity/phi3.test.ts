// Hearth against llama.cpp on phi3 (src/model/archs/phi3.ts): a synthetic Phi-3-mini-128k halved in width (1536
// wide, 16 heads of 96, FFN 4096, 2 layers, Phi-3's 32064-token vocabulary; test/fixtures/synthetic-families.ts)
// with seeded random F32 weights, fused attn_qkv and gate-up ffn_up, and LongRoPE: rope_factors_long/short and
// rope.scaling.attn_factor, original context 4096 of 131072.
//
// llama.cpp takes the long factors when its context, padded up to a multiple of 256, exceeds the original
// context (4096), else the short ones; the attention factor applies either way. So the same file runs at a
// context of 128 (short factors) and 4352 (long), each through the reference and the cpu backend; then two
// contrasts show the factors are applied and chosen: the file without LongRoPE (no factors, no attention factor)
// against llama.cpp's run of the one with it, and llama.cpp's own logits at the two contexts. A file with
// attention.sliding_window shorter than the prompt runs with full attention in both (llama.cpp disables phi3's SWA).
//
// Bounds (bounds.ts): F32 weights and 2 layers, so any step may differ by an f16 KV-cache rounding flip
// (LOOSE_MAX_NMSE.F32); measured 1.5e-8 – 4.6e-8 on ref and cpu. Greedy must agree at every step without
// excuse: with F32 weights the engines differ by summation noise only (RMS logit error ~6e-4 at 2e-8 NMSE and
// logit std 4), the smallest top-1/top-2 gap of these prompts is 0.023 in llama.cpp's logits, and another ggml
// library moves those logits by the same noise again.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openModelInfo } from '../../src/engine/model-info.ts';
import { chatTextTokens, renderChat } from '../../src/chat/prompt.ts';
import { architecture } from '../../src/model/archs/index.ts';
import { phi3RopeFactors } from '../../src/model/archs/phi3.ts';
import type { WeightSet } from '../../src/model/archs/types.ts';
import type { BackendName } from '../../src/engine/types.ts';
import { tokenizerFromGGUF } from '../../src/tokenizer/index.ts';
import { openGGUF } from '../../src/gguf/reader.ts';
import { sharedPath } from '../shared.ts';
import { syntheticFamilyPath } from '../fixtures/synthetic-families.ts';
import { referenceEval, referenceTokenize, requireReference } from '../reference/client.ts';
import { assertParity, compareWithReference, describeParity, nmse } from './parity-harness.ts';
import { LOOSE_MAX_NMSE } from './bounds.ts';

const TEXT = 'The quick brown fox jumps over the lazy dog, and then it runs far away into the deep dark forest where nobody can find it again.';
const N_PREDICT = 6;
const ORIG_CTX = 4096;
/** Contexts on either side of the original one: llama.cpp pads 128 to 256 (short factors), 4352 stays (long). */
const SHORT_CTX = 128;
const LONG_CTX = 4352;
const BACKENDS: BackendName[] = ['ref', 'cpu'];
const BOUNDS = { max: LOOSE_MAX_NMSE.F32, allowNearTies: false };
/** A run on the wrong factors (or none) is this far off at least: 10⁴ × the parity bound. */
const CONTRAST_MIN_NMSE = 1e-2;

const longRopeModel = () => syntheticFamilyPath({ family: 'phi3', longRopeOrigCtx: ORIG_CTX });
const plainModel = () => syntheticFamilyPath({ family: 'phi3', longRopeOrigCtx: ORIG_CTX, longRope: false });

function prompt(path: string): number[] {
  const tok = openModelInfo(path).tokenizer;
  return tok.encode(TEXT, { addBos: true });
}

test('phi3 LongRoPE factor choice: long when the 256-padded context exceeds the original one', () => {
  const long = new Float32Array([2]);
  const short = new Float32Array([1]);
  const g = { host: (base: string) => (base === 'rope_factors_long' ? long : short) } as unknown as WeightSet;
  const hp = (nCtxOrig: number) => ({ rope: { nCtxOrig } }) as Parameters<typeof phi3RopeFactors>[0];
  assert.equal(phi3RopeFactors(hp(4096), g, 4096), short);
  assert.equal(phi3RopeFactors(hp(4096), g, 4097), long); // llama.cpp: 4352 > 4096
  assert.equal(phi3RopeFactors(hp(4000), g, 3900), long); // padded to 4096 > 4000
  assert.equal(phi3RopeFactors(hp(4096), g, 1), short);
  assert.ok(architecture('phi3'), 'phi3 is registered');
});

for (const backend of BACKENDS) {
  for (const [label, nCtx] of [['short factors', SHORT_CTX], ['long factors', LONG_CTX]] as const) {
    test(`phi3 1536-wide, 2 layers, LongRoPE ${label} (context ${nCtx}), ${backend}: logits and greedy match llama.cpp`, (t) => {
      if (!requireReference(t)) return;
      const path = longRopeModel();
      const r = compareWithReference(path, [prompt(path)], N_PREDICT, { nCtx, backend });
      t.diagnostic(describeParity(`phi3 ${label} ${backend}`, r));
      assertParity(`phi3 ${label} ${backend}`, r, BOUNDS);
    });
  }
}

test('phi3 with attention.sliding_window 8 (shorter than the prompt), cpu: attention is full, as llama.cpp disables it for phi3', (t) => {
  if (!requireReference(t)) return;
  const path = syntheticFamilyPath({ family: 'phi3', longRopeOrigCtx: ORIG_CTX, slidingWindow: 8 });
  const r = compareWithReference(path, [prompt(path)], N_PREDICT, { nCtx: SHORT_CTX, backend: 'cpu' });
  t.diagnostic(describeParity('phi3 sliding_window 8 cpu', r));
  assertParity('phi3 sliding_window 8 cpu', r, BOUNDS);
});

test('phi3 LongRoPE contrasts: without the factors, or with the other ones, the logits are clearly different', (t) => {
  if (!requireReference(t)) return;
  const path = longRopeModel();
  const tokens = prompt(path);
  // Hearth on the file without LongRoPE, against llama.cpp on the one with it (long factors)
  const r = compareWithReference(path, [tokens], N_PREDICT, { nCtx: LONG_CTX, backend: 'cpu', hearthModel: plainModel() });
  t.diagnostic(describeParity('phi3 without LongRoPE vs llama.cpp with it', r));
  const least = Math.min(...r.prompts[0].nmse);
  assert.ok(least > CONTRAST_MIN_NMSE, `without LongRoPE the smallest step NMSE is ${least.toExponential(2)}`);
  // llama.cpp itself: short and long factors differ (so parity at both contexts shows Hearth chooses as it does)
  const short = referenceEval({ model: path, nCtx: SHORT_CTX, tokens });
  const long = referenceEval({ model: path, nCtx: LONG_CTX, tokens });
  const d = nmse(short.logits, long.logits);
  t.diagnostic(`llama.cpp short vs long factors, last prompt position: NMSE ${d.toExponential(2)}`);
  assert.ok(d > CONTRAST_MIN_NMSE, `short vs long factors: NMSE ${d.toExponential(2)}`);
});

test('phi3 vocabulary: Phi-3 chat template renders and tokenizes as llama.cpp does; <|end|> ends generation', (t) => {
  const vocab = sharedPath('vocab', 'ggml-vocab-phi-3.gguf');
  const f = openGGUF(vocab);
  let tok;
  let chatTemplate: string | undefined;
  try {
    tok = tokenizerFromGGUF(f.metadata);
    chatTemplate = f.metadata.getString('tokenizer.chat_template', undefined);
  } finally {
    f.close();
  }
  assert.ok(chatTemplate, 'the vocabulary carries a chat template');
  const messages = [
    { role: 'user' as const, content: 'Hello' },
    { role: 'assistant' as const, content: 'Hi there.' },
    { role: 'user' as const, content: 'Name a colour.' },
  ];
  const rendered = renderChat({ tokenizer: tok, chatTemplate }, messages);
  assert.equal(rendered,
    '<s><|user|>\nHello<|end|>\n<|assistant|>\nHi there.<|end|>\n<|user|>\nName a colour.<|end|>\n<|assistant|>\n');
  const end = tok.encode('<|end|>', { parseSpecial: true, addBos: false });
  assert.equal(end.length, 1);
  assert.ok(tok.isEog(end[0]), '<|end|> is an end-of-generation token');
  assert.ok(tok.isEog(tok.eosId), '<|endoftext|> (eos) ends generation');
  const ours = chatTextTokens(tok, rendered!);
  assert.equal(ours.filter((id) => id === tok.bosId).length, 1, 'one BOS: the template wrote it');
  if (!requireReference(t)) return;
  const theirs = referenceTokenize(vocab, rendered!, { parseSpecial: true, vocabOnly: true });
  assert.deepEqual(ours, theirs);
});
