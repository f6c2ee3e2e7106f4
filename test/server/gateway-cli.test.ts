// `hearth serve --config FILE` as its own process in front of an upstream hearth server, with the upstream's key from
// `hearth secrets set`: the child answers provider/model names with the upstream's greedy text; the secret is stored
// encrypted and listed by name only; a config mistake stops the start with its line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../shared.ts';
import { startServer, type TestServer } from './harness.ts';
import { tempDir } from '../security/harness.ts';

const HEARTH = join(REPO_ROOT, 'bin', 'hearth.js');
let up: TestServer;
let home: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  up = await startServer({});
  home = tempDir('hearth-gw-cli-');
  mkdirSync(join(home, 'models'));
  env = { ...process.env, HEARTH_HOME: home, HEARTH_MODELS: join(home, 'models'), HEARTH_DB: undefined, HEARTH_SECRET_KEY: undefined };
});
after(() => up?.close());

const hearth = (args: string[], input?: string) => spawnSync(process.execPath, [HEARTH, ...args], { env, input, encoding: 'utf8', timeout: 60_000 });

test('hearth secrets set / list / rm: stored encrypted, listed by name only', () => {
  const secret = 'sk-cli-SECRET-value-9876543210';
  assert.equal(hearth(['secrets', 'set', 'up-key'], `${secret}\n`).status, 0);
  const list = hearth(['secrets', 'list']);
  assert.match(list.stdout, /^up-key\t/m);
  assert.doesNotMatch(list.stdout + list.stderr, /SECRET-value/);
  assert.ok(!readFileSync(join(home, 'hearth.db')).includes(secret));
  assert.equal(hearth(['secrets', 'set', 'gone'], 'x\n').status, 0);
  assert.equal(hearth(['secrets', 'rm', 'gone']).status, 0);
  assert.equal(hearth(['secrets', 'rm', 'gone']).status, 1);
});

test('hearth serve --config: a config mistake stops the start, naming its line', () => {
  const file = join(home, 'bad.yaml');
  writeFileSync(file, 'providers:\n  up:\n    type: openai-compatible\n    base_url: http://127.0.0.1:1/v1\n    api_key: sk-in-the-file\n');
  const r = hearth(['serve', '--config', file, '--port', '0']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.yaml:5: providers\.up\.api_key: a secret written in the file is refused/);
});

test('hearth serve --config answers provider/model names with the upstream\'s text', async () => {
  const file = join(home, 'config.yaml');
  writeFileSync(file, `providers:\n  up: { type: openai-compatible, base_url: ${up.base}/v1, api_key: secret:up-key }\nmodels:\n  tiny: { route: [up/stories260K] }\n`);
  const child = spawn(process.execPath, [HEARTH, 'serve', '--config', file, '--port', '0', '--log-level', 'info'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  try {
    const base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listen line: ${out}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) { clearTimeout(timer); resolve(m[1]!); }
      });
      child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    const body = { messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 12, temperature: 0 };
    const ask = async (b: string, model: string) => {
      const r = await fetch(`${b}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, model }) });
      assert.equal(r.status, 200, await r.clone().text());
      return ((await r.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
    };
    const direct = await ask(up.base, 'stories260K');
    assert.equal(await ask(base, 'up/stories260K'), direct);
    assert.equal(await ask(base, 'tiny'), direct);
    const health = await (await fetch(`${base}/health`)).json() as { providers: { name: string }[] };
    assert.deepEqual(health.providers.map((p) => p.name), ['up']);
    assert.doesNotMatch(out, /SECRET-value/);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});
