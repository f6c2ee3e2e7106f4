// The models library over a temp models folder and a real SQLite catalog, with copies and hard links of
// stories260K.gguf: dropped-in files, pulled records, cp/create sharing one file, rm, vanished files, bad input.
// Measured: ~1 s alone.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedPath } from '../shared.ts';
import { Library } from '../../src/library/library.ts';
import { parseModelfile, PRESET_PARAMETERS } from '../../src/library/preset.ts';
import { readOllamaOptions } from '../../src/api/ollama/options.ts';
import { Fields } from '../../src/api/validate.ts';
import { isHearthError } from '../../src/util/errors.ts';

const STORIES = sharedPath('models', 'stories260K.gguf');

function fresh(): { lib: Library; dir: string; home: string } {
  const home = mkdtempSync(join(tmpdir(), 'hearth-lib-'));
  const dir = join(home, 'models');
  const lib = Library.open({ HEARTH_HOME: home, HEARTH_MODELS: dir });
  return { lib, dir, home };
}

test('a dropped-in file is listed under its stem, once; .partial files are not; a split model is one model', (t) => {
  const { lib, dir, home } = fresh();
  t.after(() => { lib.close(); rmSync(home, { recursive: true, force: true }); });
  assert.deepEqual(lib.list(), []);
  mkdirSync(dir, { recursive: true });
  copyFileSync(STORIES, join(dir, 'stories.gguf'));
  writeFileSync(join(dir, 'other.gguf.partial'), 'x');
  const list = lib.list();
  assert.equal(list.length, 1);
  assert.equal(list[0]!.name, 'stories');
  assert.equal(list[0]!.arch, 'llama');
  assert.equal(list[0]!.sha256, '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d');
  assert.equal(lib.get('Stories:latest')?.path, join(dir, 'stories.gguf'));
  assert.equal(lib.list().length, 1);
  // A split model appears once, by its first part, only when every part is there.
  copyFileSync(STORIES, join(dir, 'big-00002-of-00002.gguf'));
  assert.deepEqual(lib.list().map((m) => m.name), ['stories']);
  copyFileSync(STORIES, join(dir, 'big-00001-of-00002.gguf'));
  const big = lib.get('big')!;
  assert.deepEqual(big.parts, [join(dir, 'big-00001-of-00002.gguf'), join(dir, 'big-00002-of-00002.gguf')]);
  assert.equal(big.size, 2 * 1185376);
  assert.deepEqual(lib.list().map((m) => m.name), ['big', 'stories']);
  assert.deepEqual(lib.remove('big').deleted, big.parts);
});

test('a pulled record, cp and create share one file; rm deletes it with the last name', (t) => {
  const { lib, dir, home } = fresh();
  t.after(() => { lib.close(); rmSync(home, { recursive: true, force: true }); });
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'stories260K-Q4_K_M.gguf');
  copyFileSync(STORIES, file);
  lib.list(); // seen first as a dropped-in file
  const pulled = lib.record({ path: file, name: 'hf.co/acme/stories-GGUF:Q4_K_M', source: 'hf.co/acme/stories-GGUF:Q4_K_M' });
  assert.equal(pulled.source, 'hf.co/acme/stories-GGUF:Q4_K_M');
  assert.deepEqual(lib.list().map((m) => m.name), ['hf.co/acme/stories-GGUF:Q4_K_M']);
  const copy = lib.copy('hf.co/acme/stories-GGUF:q4_k_m', 'mine');
  assert.equal(copy.path, file);
  assert.throws(() => lib.copy('mine', 'MINE:latest'), (e) => isHearthError(e, 'conflict'));
  const preset = lib.create('teller', { from: 'mine', system: 'Tell a story.', parameters: { temperature: 0.7, stop: 'The end' } });
  assert.deepEqual(preset.preset, { from: 'mine', system: 'Tell a story.', parameters: { temperature: 0.7, stop: ['The end'] } });
  assert.equal(preset.path, file);
  const derived = lib.create('teller2', { from: 'teller', parameters: { top_k: 5 } });
  assert.deepEqual(derived.preset?.parameters, { temperature: 0.7, stop: ['The end'], top_k: 5 });
  assert.equal(lib.list().length, 4);
  for (const name of ['mine', 'teller', 'teller2']) {
    assert.deepEqual(lib.remove(name).deleted, []);
    assert.ok(existsSync(file));
  }
  assert.deepEqual(lib.remove('hf.co/acme/stories-GGUF:Q4_K_M').deleted, [file]);
  assert.ok(!existsSync(file));
  assert.deepEqual(lib.list(), []);
});

test('a row whose file vanished is not listed; bad names, unknown models and bad parameters are refused', (t) => {
  const { lib, dir, home } = fresh();
  t.after(() => { lib.close(); rmSync(home, { recursive: true, force: true }); });
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'a.gguf');
  copyFileSync(STORIES, file);
  lib.copy('a', 'b');
  rmSync(file);
  assert.deepEqual(lib.list(), []);
  assert.equal(lib.get('b'), undefined);
  copyFileSync(STORIES, file);
  assert.deepEqual(lib.list().map((m) => m.name), ['a', 'b']);
  assert.throws(() => lib.copy('a', 'bad name!'), (e) => isHearthError(e, 'invalid_argument'));
  assert.throws(() => lib.copy('a', 'x'.repeat(129)), (e) => isHearthError(e, 'invalid_argument'));
  assert.throws(() => lib.require('aa'), (e) => isHearthError(e, 'not_found') && /did you mean "a"/.test(e.message));
  assert.throws(() => lib.create('p', { from: 'a', parameters: { temprature: 1 } }), (e) => isHearthError(e, 'invalid_argument') && /unknown parameter "temprature"/.test(e.message));
  assert.throws(() => lib.create('p', { from: 'a', parameters: { top_p: 2 } }), (e) => isHearthError(e, 'invalid_argument'));
  assert.throws(() => lib.create('p', { from: 'a', parameters: { mirostat: 3 } }), (e) => isHearthError(e, 'invalid_argument'));
  assert.throws(() => lib.create('p', { from: 'nope' }), (e) => isHearthError(e, 'not_found'));
});

test('values a preset accepts are values the server accepts in options', () => {
  const sample: Record<string, unknown> = {};
  for (const [k, r] of Object.entries(PRESET_PARAMETERS)) {
    sample[k] = r.kind === 'strings' ? ['x'] : r.kind === 'boolean' ? true : r.min !== undefined ? (r.minExclusive ? r.min + 0.5 : r.min) : 1;
  }
  assert.doesNotThrow(() => readOllamaOptions(new Fields(sample, 'options')));
});

test('a Modelfile: FROM, SYSTEM blocks, PARAMETER; TEMPLATE is refused', () => {
  const m = parseModelfile('# c\nFROM base\nSYSTEM """You are\na teller."""\nPARAMETER temperature 0.5\nPARAMETER stop "a b"\nPARAMETER stop c\n');
  assert.deepEqual(m, { from: 'base', system: 'You are\na teller.', parameters: { temperature: 0.5, stop: ['a b', 'c'] } });
  assert.throws(() => parseModelfile('FROM x\nTEMPLATE "{{ .Prompt }}"'), (e) => isHearthError(e, 'unsupported_field') && /TEMPLATE/.test(e.message));
  assert.throws(() => parseModelfile('FROM x\nPARAMETER top_k lots'), (e) => isHearthError(e, 'invalid_argument'));
});

test('a server library lists a dropped-in file at once and digests it off the event loop; the digest survives a reopen', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'hearth-lib-'));
  const dir = join(home, 'models');
  t.after(() => rmSync(home, { recursive: true, force: true }));
  mkdirSync(dir);
  copyFileSync(STORIES, join(dir, 'quick.gguf'));
  const env = { HEARTH_HOME: home, HEARTH_MODELS: dir };
  const lib = Library.open(env, { hashInBackground: true });
  const first = lib.list();
  assert.deepEqual(first.map((m) => [m.name, m.sha256]), [['quick', undefined]]);
  await lib.hashed();
  const want = createHash('sha256').update(readFileSync(STORIES)).digest('hex');
  assert.equal(lib.get('quick')!.sha256, want);
  lib.close();
  const again = Library.open(env);
  try { assert.equal(again.get('quick')!.sha256, want); } finally { again.close(); }
});
