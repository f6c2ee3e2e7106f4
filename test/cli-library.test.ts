// hearth list / ls / show / cp / create / rm / run over a temp HEARTH_HOME and models folder holding a copy of
// stories260K.gguf, spawned as a person runs them. Measured: ~6 s alone.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, sharedPath } from './shared.ts';

const home = mkdtempSync(join(tmpdir(), 'hearth-cli-lib-'));
const models = join(home, 'models');
mkdirSync(models);
const file = join(models, 'stories.gguf');
copyFileSync(sharedPath('models', 'stories260K.gguf'), file);
process.on('exit', () => rmSync(home, { recursive: true, force: true }));

function hearth(...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, HEARTH_HOME: home, HEARTH_MODELS: models };
  delete env.HEARTH_DB;
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'hearth.js'), ...args], { encoding: 'utf8', env, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('list, ls, show, cp, create, rm and run over the library', () => {
  const ls = hearth('ls');
  assert.equal(ls.code, 0, ls.err);
  assert.match(ls.out, /^NAME\s+ID\s+SIZE\s+MODIFIED\n/);
  assert.match(ls.out, /\nstories\s+270cba1bd510\s+1\.2 MB\s+/);
  const list = JSON.parse(hearth('list', '--json').out) as { name: string; path: string }[];
  assert.deepEqual(list.map((m) => [m.name, m.path]), [['stories', file]]);

  assert.equal(hearth('cp', 'stories', 'tales:v1').code, 0);
  const clash = hearth('cp', 'stories', 'tales:v1');
  assert.equal(clash.code, 1);
  assert.match(clash.err, /already exists/);

  const mf = join(home, 'Modelfile');
  writeFileSync(mf, 'FROM tales:v1\nSYSTEM """Tell a\nstory."""\nPARAMETER temperature 0.3\n');
  const created = hearth('create', 'teller', '--file', mf, '--param', 'stop=The end', '--param', 'top_k=4');
  assert.equal(created.code, 0, created.err);
  const shown = JSON.parse(hearth('show', 'teller', '--json').out) as { path: string; preset: unknown; arch: string };
  assert.equal(shown.path, file);
  assert.equal(shown.arch, 'llama');
  assert.deepEqual(shown.preset, { from: 'tales:v1', system: 'Tell a\nstory.', parameters: { temperature: 0.3, stop: ['The end'], top_k: 4 } });
  const modelfile = hearth('show', 'teller', '--modelfile').out;
  assert.match(modelfile, /^# Modelfile.*\nFROM tales:v1\nSYSTEM """Tell a\nstory."""\nPARAMETER temperature 0.3\nPARAMETER stop "The end"\nPARAMETER top_k 4\n$/);
  const text = hearth('show', 'teller').out;
  assert.match(text, /architecture\s+llama/);
  assert.match(text, /system\s+Tell a/);

  const bad = hearth('create', 'x', '--from', 'stories', '--param', 'temprature=1');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /unknown parameter "temprature"/);
  writeFileSync(mf, 'FROM stories\nADAPTER ./lora.gguf\n');
  assert.match(hearth('create', 'x', '--file', mf).err, /ADAPTER is not supported/);
  assert.match(hearth('show', 'storis').err, /did you mean "stories"/);

  const run = hearth('run', 'tales:v1', '--prompt', 'Once upon a time', '-n', '4', '--temp', '0');
  assert.equal(run.code, 0, run.err);
  assert.ok(run.out.length > 0);

  assert.equal(hearth('rm', 'teller', 'stories').code, 0);
  assert.ok(existsSync(file), 'tales:v1 still shares the file');
  assert.equal(hearth('rm', 'tales:v1').code, 0);
  assert.ok(!existsSync(file));
  assert.equal(JSON.parse(hearth('list', '--json').out).length, 0);
});
