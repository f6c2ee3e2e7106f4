// llama.cpp loads what the writer produces: stories260K rewritten with a non-default alignment, its
// tensors in reverse order and extra metadata of every kind gives llama.cpp exactly the same logits.
// Skipped when the optional llama.cpp reference (test/reference) is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedPath } from '../../test/shared.ts';
import { referenceEval, requireReference } from '../../test/reference/client.ts';
import { openGGUF, writeGGUF, GGUFMetadata } from './index.ts';

test('llama.cpp evaluates a rewritten stories260K exactly like the original', (t) => {
  if (!requireReference(t)) return;
  const src = sharedPath('models', 'stories260K.gguf');
  const dir = mkdtempSync(join(tmpdir(), 'hearth-gguf-llama-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dst = join(dir, 'stories-rewritten.gguf');

  const f = openGGUF(src);
  try {
    const meta = GGUFMetadata.from(f.metadata)
      .u64('hearth.test.u64', 1n << 63n).i64('hearth.test.i64', -1).f64('hearth.test.f64', 0.5)
      .bool('hearth.test.bool', true).string('hearth.test.unicode', 'ключ 🦙')
      .i8s('hearth.test.i8s', [-1, 2]).u64s('hearth.test.u64s', [0, 1n << 63n]).bools('hearth.test.bools', []);
    // Not arrays of arrays: llama.cpp's gguf.cpp refuses them ("invalid GGUF type 9"), although the
    // format and gguf-py allow them.
    const tensors = [...f.tensors].reverse().map((ti) => ({ name: ti.name, shape: ti.shape, type: ti.type, data: () => f.readTensor(ti) }));
    writeGGUF(dst, { metadata: meta, tensors, alignment: 64 });
  } finally {
    f.close();
  }
  const g = openGGUF(dst);
  assert.equal(g.alignment, 64);
  g.close();

  const tokens = [1, 403, 407, 261, 378]; // BOS and a few ids of the 512-token vocabulary
  const a = referenceEval({ model: src, tokens, nPredict: 8, nCtx: 64 });
  const b = referenceEval({ model: dst, tokens, nPredict: 8, nCtx: 64 });
  assert.equal(b.nVocab, 512);
  assert.equal(a.greedy.length, 8);
  assert.ok(new Set(a.logits).size > 100, 'the logits carry information');
  assert.deepEqual(b.logits, a.logits);
  assert.deepEqual(b.greedy, a.greedy);
});
