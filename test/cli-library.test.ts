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
  // a preset's parameters are run's defaults; a flag overrides them
  assert.equal(hearth('create', 'brief', '--from', 'tales:v1', '--param', 'num_predict=3', '--param', 'temperature=0').code, 0);
  assert.match(hearth('run', 'brief', '--prompt', 'Once upon a time').err, /generated 3 tokens/);
  assert.match(hearth('run', 'brief', '--prompt', 'Once upon a time', '-n', '5').err, /generated 5 tokens/);

  assert.equal(hearth('rm', 'teller', 'stories').code, 0);
  assert.ok(existsSync(file), 'tales:v1 still shares the file');
  assert.equal(hearth('rm', 'tales:v1', 'brief').code, 0);
  assert.ok(!existsSync(file));
  assert.equal(JSON.parse(hearth('list', '--json').out).length, 0);
});

/** `hearth serve` with no MODEL on a free loopback port, over this library; resolves once it listens. */
async function serveLibrary(...flags: string[]): Promise<{ base: string; stop: () => Promise<number | null> }> {
  const { createServer } = await import('node:net');
  const { spawn } = await import('node:child_process');
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const env: NodeJS.ProcessEnv = { ...process.env, HEARTH_HOME: home, HEARTH_MODELS: models };
  delete env.HEARTH_DB;
  delete env.HEARTH_MODEL;
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'hearth.js'), 'serve', '--port', String(port), '--log-level', 'warn', ...flags], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d; });
  const base = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${err}`);
    if (await fetch(`${base}/health`).then((r) => r.ok, () => false)) break;
    if (Date.now() - t0 > 30_000) throw new Error(`serve did not listen: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    stop: () => new Promise((resolve) => { child.once('exit', (code) => resolve(code)); child.kill('SIGTERM'); }),
  };
}

test('serve with no MODEL serves the library; hearth ps shows what a request loaded, hearth stop unloads it', async () => {
  copyFileSync(sharedPath('models', 'stories260K.gguf'), join(models, 'served.gguf'));
  const srv = await serveLibrary('--keep-alive', '10m', '--max-memory', '1GiB');
  const on = ['--host', srv.base];
  try {
    const none = hearth('ps', ...on);
    assert.equal(none.code, 0, none.err);
    assert.equal(none.out, 'NAME    SIZE    CONTEXT    UNTIL\n');
    const tags = await (await fetch(`${srv.base}/api/tags`)).json() as { models: { name: string }[] };
    assert.ok(tags.models.some((m) => m.name === 'served:latest'));
    const r = await fetch(`${srv.base}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'served', prompt: 'Once', raw: true, stream: false, options: { num_predict: 2 } }) });
    assert.equal(r.status, 200);
    const ps = hearth('ps', ...on);
    assert.match(ps.out, /\nserved:latest\s+\d+(\.\d)? MB\s+\d+\s+(9|10) minutes from now\n/);
    const json = JSON.parse(hearth('ps', '--json', ...on).out) as { name: string }[];
    assert.deepEqual(json.map((m) => m.name), ['served:latest']);
    const missing = hearth('stop', 'nope', ...on);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /"nope" is not loaded .*loaded: served:latest/);
    assert.equal(hearth('stop', 'served', ...on).code, 0);
    assert.equal(JSON.parse(hearth('ps', '--json', ...on).out).length, 0);
  } finally {
    assert.equal(await srv.stop(), 0);
  }
  const gone = hearth('ps', '--host', srv.base);
  assert.equal(gone.code, 1);
  assert.match(gone.err, /no hearth server answers at http:\/\/127\.0\.0\.1:\d+/);
});
