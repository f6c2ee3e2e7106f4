// The llama.cpp reference harness itself: tokenizer round trip, raw logits, greedy continuation.
// Skips when test/reference is not installed (npm run reference:install), fails if HEARTH_REQUIRE_REFERENCE=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedPath } from '../shared.ts';
import { readVectors } from '../tokenizer-vectors.ts';
import {
  referenceEval, referenceTokenizeBench, referenceTokenizeMany, requireReference, runReference,
} from './client.ts';

const PROMPT = 'Once upon a time';
const N_PREDICT = 64;
const LOGIT_STEPS = 8;

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

test('llama.cpp reference: stories260K greedy continuation of "Once upon a time"', (t) => {
  if (!requireReference(t)) return;
  const model = sharedPath('models', 'stories260K.gguf');

  const tok = runReference({
    model,
    ops: [{ op: 'tokenize', text: PROMPT }, { op: 'tokenize', text: PROMPT, addBos: true }],
  });
  const [plain, withBos] = tok.results.map((r) => (r.op === 'tokenize' ? r.tokens : []));
  assert.ok(plain.length > 0, 'tokenizer returned no tokens');
  assert.equal(tok.info.buildType, 'prebuilt', 'expected the prebuilt npm binary, not a local build');
  assert.equal(tok.info.gpu, false);
  assert.notEqual(tok.info.bos, null);
  assert.deepEqual(withBos, [tok.info.bos, ...plain]);

  const prompt = withBos;
  const ev = referenceEval({ model, tokens: prompt, nPredict: N_PREDICT, logitSteps: LOGIT_STEPS, nCtx: 256 });
  assert.equal(ev.nVocab, 512);
  assert.equal(ev.logits.length, 512);
  assert.equal(ev.stepLogits.length, LOGIT_STEPS);
  assert.equal(ev.greedy.length, N_PREDICT);
  for (const [k, row] of ev.stepLogits.entries()) {
    assert.equal(row.length, 512);
    assert.ok(row.every(Number.isFinite), `step ${k}: non-finite logit`);
    assert.equal(argmax(row), ev.greedy[k], `step ${k}: greedy token is not the argmax of its logits`);
  }
  assert.ok(ev.greedy.every((id) => Number.isInteger(id) && id >= 0 && id < 512));
  // Raw logits, not log-probabilities: their exponentials do not sum to 1.
  const expSum = ev.logits.reduce((s, l) => s + Math.exp(l), 0);
  assert.ok(Math.abs(expSum - 1) > 1e-3, `logits look normalized (sum exp = ${expSum})`);

  // Stepping semantics: the logits after feeding greedy[0..3] one at a time equal those of a
  // fresh prompt that already contains them (batched prefill; allow float reordering).
  const fed = referenceEval({ model, tokens: [...prompt, ...ev.greedy.slice(0, 4)], nCtx: 256 });
  let maxDiff = 0;
  for (let i = 0; i < 512; i++) maxDiff = Math.max(maxDiff, Math.abs(fed.logits[i] - ev.stepLogits[4][i]));
  assert.ok(maxDiff < 1e-3, `step-4 logits differ from a batched prompt by ${maxDiff}`);

  const de = runReference({
    model,
    ops: [{ op: 'detokenize', tokens: plain }, { op: 'detokenize', tokens: ev.greedy }],
  });
  const [roundTrip, continuation] = de.results.map((r) => (r.op === 'detokenize' ? r.text : ''));
  assert.equal(roundTrip, PROMPT);
  t.diagnostic(`llama.cpp ${tok.info.llamaCpp} via node-llama-cpp ${tok.info.nodeLlamaCpp}`);
  t.diagnostic(`prompt ids: ${JSON.stringify(prompt)}`);
  t.diagnostic(`greedy ids: ${JSON.stringify(ev.greedy)}`);
  t.diagnostic(`greedy text: ${JSON.stringify(continuation)}`);
});

test('llama.cpp reference: a missing model file is reported, not hidden', (t) => {
  if (!requireReference(t)) return;
  assert.throws(
    () => runReference({ model: '/nonexistent/model.gguf', ops: [] }),
    /llama\.cpp reference failed: .*nonexistent/s,
  );
});

test('llama.cpp reference: vocab-only GGUFs tokenize to their test vectors; tokenizeBench returns the same ids', async (t) => {
  if (!requireReference(t)) return;
  const model = sharedPath('vocab', 'ggml-vocab-gpt-2.gguf');
  const cases = readVectors(`${model}.inp`, `${model}.out`).filter((c) => c.text !== '');
  const got = referenceTokenizeMany(model, cases.map((c) => c.text), { vocabOnly: true });
  assert.deepEqual(got, cases.map((c) => c.ids));

  const file = join(mkdtempSync(join(tmpdir(), 'hearth-ref-')), 'text.txt');
  const text = cases.map((c) => c.text).join('\n');
  writeFileSync(file, text);
  const [whole] = referenceTokenizeMany(model, [text], { vocabOnly: true });
  const bench = await referenceTokenizeBench(model, { file, reps: 2, returnTokens: true });
  assert.equal(bench.result.bytes, Buffer.byteLength(text));
  assert.equal(bench.result.nTokens, whole.length);
  assert.deepEqual(Array.from(bench.tokens ?? []), whole);
  assert.ok(bench.result.coldMs > 0 && bench.result.bestMs > 0 && bench.result.bestCpuMs >= 0);
  assert.throws(
    () => runReference({ model, vocabOnly: true, ops: [{ op: 'eval', tokens: [1] }] }),
    /vocabulary only/,
  );
});
