// hearth kb create|add|search|ls|rm as a user runs them: a folder ingested recursively (one file empty, so
// failed with its reason and exit 1), keyword search finding its passage, --json output, ls and rm.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, sharedPath } from './shared.ts';
import { tempDir } from './security/harness.ts';
import { syntheticFamilyPath } from './fixtures/synthetic-families.ts';

const BERT = { family: 'bert' as const, nEmbd: 128, nHead: 4, nFF: 256, nLayer: 2, nCtxTrain: 512 };

test('hearth kb: create, add a folder, search, ls, rm', () => {
  const home = tempDir('hearth-kb-cli-');
  const docs = join(home, 'docs');
  mkdirSync(join(docs, 'sub'), { recursive: true });
  writeFileSync(join(docs, 'book.txt'), readFileSync(sharedPath('text', 'war-and-peace.txt'), 'utf8').slice(50_000, 62_000));
  writeFileSync(join(docs, 'sub', 'page.html'), '<p>The hearth &amp; the home</p>');
  writeFileSync(join(docs, 'empty.md'), '');
  const { HEARTH_DB: _, ...env } = process.env;
  const hearth = (...args: string[]) => spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'hearth.js'), 'kb', ...args],
    { env: { ...env, HEARTH_HOME: home }, encoding: 'utf8', timeout: 120_000 });

  const created = hearth('create', 'notes', '--model', syntheticFamilyPath(BERT));
  assert.equal(created.status, 0, created.stderr);
  assert.match(created.stdout, /^Created vs_\w+ "notes"/);
  const added = hearth('add', 'notes', docs, '--chunk-tokens', '200', '--overlap', '50');
  assert.equal(added.status, 1, 'a failed file makes the exit status 1');
  assert.match(added.stderr, /empty\.md {2}failed: the file is empty/);
  assert.match(added.stderr, /Ingested 3 files in [\d.]+ s: 2 completed, 1 failed/);

  const found = hearth('search', 'notes', 'hearth', 'home', '--mode', 'keyword', '--json');
  assert.equal(found.status, 0, found.stderr);
  const page = JSON.parse(found.stdout) as { data: { filename: string; content: { text: string }[] }[] };
  assert.equal(page.data[0].filename, 'page.html');
  assert.equal(page.data[0].content[0].text, 'The hearth & the home');
  assert.match(hearth('search', 'notes', 'the', '-n', '2').stdout, /^1\. [\d.]+ {2}\S+\n {3}.+\n2\. /);

  // The same vector search through each index (LanceDB's table made from the database at its first search).
  const ranked = (...flags: string[]) => {
    const r = hearth('search', 'notes', 'the battle', '--mode', 'vector', '--json', ...flags);
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as { data: { file_id: string; content: { text: string }[] }[] }).data.map((h) => h.content[0].text);
  };
  const exact = ranked();
  assert.ok(exact.length >= 2);
  assert.deepEqual(ranked('--vector-index', 'lancedb', '--lancedb', join(home, 'lance')), exact);
  assert.match(hearth('search', 'notes', 'x', '--vector-index', 'faiss').stderr, /--vector-index must be one of exact, sqlite-vec, lancedb/);

  assert.match(hearth('ls').stdout, /notes {2}model .* files 2 completed, 1 failed, 0 in progress/);
  assert.match(hearth('rm', 'notes').stdout, /^Deleted vs_/);
  assert.match(hearth('ls').stdout, /No vector stores/);
});
