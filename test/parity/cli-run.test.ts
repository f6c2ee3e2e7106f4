// `hearth run` as a person runs it (a real subprocess on the project's Node), against llama.cpp: greedy
// decoding of stories260K from BOS + "Once upon a time" must print exactly the text of llama.cpp's own
// greedy continuation, detokenized by llama.cpp.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, sharedPath } from '../shared.ts';
import { referenceEval, referenceTokenize, requireReference, runReference } from '../reference/client.ts';

const STORIES = sharedPath('models', 'stories260K.gguf');
const PROMPT = 'Once upon a time';
const N = 64;

test('hearth run --temp 0 prints llama.cpp\'s greedy continuation of stories260K', (t) => {
  if (!requireReference(t)) return;
  // llama.cpp: its own tokenization (BOS added, as the model's vocabulary asks), its greedy tokens (stopping
  // at end of generation as `hearth run` does), its own detokenizer.
  const prompt = referenceTokenize(STORIES, PROMPT, { addBos: true });
  const { greedy } = referenceEval({ model: STORIES, tokens: prompt, nPredict: N, stopAtEog: true, nCtx: 256 });
  const texts = runReference({
    model: STORIES,
    ops: [
      { op: 'detokenize', tokens: greedy },
      { op: 'detokenize', tokens: prompt },
      { op: 'detokenize', tokens: [...prompt, ...greedy] },
    ],
  }).results.map((r) => (r.op === 'detokenize' ? r.text : ''));
  const [expected, promptText, fullText] = texts;
  // A continuation detokenized alone loses the leading space of its first token in llama.cpp; what a
  // program printing after the prompt shows is the full text minus the prompt's. They coincide here (the
  // first token is ","); if they ever differ, the expected text below needs that choice made explicitly.
  assert.equal(fullText, promptText + expected, 'llama.cpp detokenization of the continuation depends on context');

  const t0 = performance.now();
  const r = spawnSync(process.execPath,
    [join(REPO_ROOT, 'bin', 'hearth.js'), 'run', STORIES, '--prompt', PROMPT, '-n', String(N), '--temp', '0'],
    { encoding: 'utf8', timeout: 120_000 });
  t.diagnostic(`hearth run: exit ${r.status} in ${((performance.now() - t0) / 1000).toFixed(1)} s; stderr: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  t.diagnostic(`llama.cpp greedy text: ${JSON.stringify(expected)}`);
  assert.equal(r.status, 0, `hearth run failed:\n${r.stderr}`);
  assert.equal(r.stdout.replace(/\n$/, ''), expected);
});
