// A split Hearth writes by gguf-split's rules (test/fixtures/split-gguf.ts) is one llama.cpp loads too: llama.cpp
// on the first of three parts of stories260K gives the whole file's greedy tokens and logits, and so does Hearth.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedPath } from '../shared.ts';
import { writeSplitGGUF } from '../fixtures/split-gguf.ts';
import { referenceEval, requireReference } from '../reference/client.ts';
import { loadModel } from '../../src/engine/load.ts';
import { Context } from '../../src/engine/context.ts';
import { generate } from '../../src/engine/generate.ts';
import { openGGUF } from '../../src/gguf/index.ts';

const STORIES = sharedPath('models', 'stories260K.gguf');
const N = 16;

test('llama.cpp loads a split Hearth wrote and gives the whole file\'s greedy tokens; Hearth gives the same', async (t) => {
  if (!requireReference(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'hearth-split-parity-'));
  try {
    const f = openGGUF(STORIES);
    const n = f.tensors.length;
    f.close();
    const parts = writeSplitGGUF(STORIES, dir, { prefix: 'stories260K', tensorsPerPart: [10, 20, n - 30] });
    const prompt = [1, 403, 407, 261, 378];
    const whole = referenceEval({ model: STORIES, tokens: prompt, nPredict: N, nCtx: 64 });
    const split = referenceEval({ model: parts[0]!, tokens: prompt, nPredict: N, nCtx: 64 });
    assert.equal(split.greedy.length, N);
    assert.deepEqual(split.greedy, whole.greedy);
    assert.deepEqual(split.logits, whole.logits);
    const m = loadModel(parts[0]!, { nCtx: 64 });
    try {
      const ids: number[] = [];
      for await (const ev of generate(new Context(m), { prompt, maxTokens: N, sampling: { temperature: 0 } })) if (ev.type === 'token') ids.push(ev.id);
      assert.deepEqual(ids, split.greedy);
    } finally {
      m.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
