// The GGUF fuzzer, bounded: a fixed seed and a few thousand structure-aware mutants of the committed corpus through
// the reader, the loader and one forward step, each worker a child process with heap, memory and time caps. Longer
// runs: npm run fuzz -- --seconds N.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORPUS_DIR, runFuzz } from './run.ts';
import { seedCorpus } from './seeds.ts';
import { caseBytes, loadCorpus, runCase } from './gguf-case.ts';
import { tmpdir } from 'node:os';

test('the committed corpus is what seeds.ts makes, and every model in it loads and runs one token', () => {
  for (const s of seedCorpus()) {
    assert.deepEqual(new Uint8Array(readFileSync(join(CORPUS_DIR, s.name))), s.bytes, `${s.name}: run npm run fuzz -- --write-seeds`);
    assert.ok(s.bytes.length < 16 * 1024, `${s.name} is ${s.bytes.length} bytes`);
    const r = runCase(s.bytes, join(tmpdir(), `hearth-seed-${process.pid}.gguf`));
    if (s.name.startsWith('kitchen')) assert.ok(r !== 'ok' && r.code === 'unsupported_architecture');
    else assert.equal(r, 'ok', s.name);
  }
});

test('mutants are deterministic per seed and case', () => {
  const corpus = loadCorpus(CORPUS_DIR);
  for (const i of [0, 1, 77]) assert.deepEqual(caseBytes(corpus, 5, i), caseBytes(corpus, 5, i));
  assert.notDeepEqual(caseBytes(corpus, 5, 1), caseBytes(corpus, 6, 1));
});

test('3,000 mutants: only acceptance or typed HearthErrors; no crash, hang or memory blow-up', async () => {
  const r = await runFuzz({ seed: 20261204, cases: 3000, jobs: 2, batch: 1500, caseMs: 15_000 });
  assert.deepEqual(r.failures, []);
  assert.equal(r.cases, 3000);
  assert.ok(r.accepted > 0, 'some mutants load and run');
  for (const code of ['gguf_invalid', 'model_invalid']) assert.ok((r.typed[code] ?? 0) > 0, `no ${code} among ${JSON.stringify(r.typed)}`);
});
