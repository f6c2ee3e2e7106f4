// The analysis service in a real `hearth serve` process (a synthetic language model with a synthetic mmproj, its
// database in a temp folder), with a gateway config whose providers are a second hearth server (in this process,
// the same model files) reached as type hearth, ollama and anthropic. A batch is killed mid-way (SIGKILL) and the
// server started again on the same database: every item ends completed, the items finished before the kill keep
// their results (same ids, one attempt), and each item has exactly one successful run in the usage audit. The
// remote routes give the local route's text, and a structured format goes through the hearth provider.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { startServer, type TestServer } from '../server/harness.ts';
import { syntheticModelPath } from '../fixtures/synthetic-model.ts';
import { syntheticMmprojPath } from '../fixtures/synthetic-mmproj.ts';
import { REPO_ROOT } from '../shared.ts';
import { openStore } from '../../src/store/store.ts';

const LM = { nEmbd: 128, nLayer: 2, nHead: 4, nHeadKv: 4, nFF: 256 } as const;
const MODEL = 'llava-test';
const PROMPT = 'What is in the picture?';
const dir = mkdtempSync(join(tmpdir(), 'hearth-analyze-'));
const db = join(dir, 'hearth.db');
let upstream: TestServer;
let port: number;
let child: ChildProcess | undefined;
let base: string;

async function picture(w: number, h: number, seed: number): Promise<Buffer> {
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * (31 + seed) + (i >> 7) * 11 + seed * 5) & 255;
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const p = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return p;
}

/** `hearth serve` on the model with its mmproj and the gateway config; resolves once the model is ready. */
async function serve(): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env, HEARTH_HOME: dir, HEARTH_DB: db };
  delete env.HEARTH_MODEL;
  const c = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'hearth.js'), 'serve', syntheticModelPath(LM), '--mmproj', syntheticMmprojPath({ nEmbdOut: LM.nEmbd }),
    '--alias', MODEL, '--port', String(port), '--parallel', '2', '--ctx', '256', '--log-level', 'warn', '--config', join(dir, 'config.yaml')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  child = c;
  let err = '';
  c.stderr!.on('data', (d: Buffer) => { err += d; });
  const t0 = Date.now();
  for (;;) {
    if (c.exitCode !== null) throw new Error(`serve exited ${c.exitCode}: ${err}`);
    if (await fetch(`${base}/health`).then((r) => r.ok, () => false)) return;
    if (Date.now() - t0 > 60_000) throw new Error(`serve did not become ready: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function kill(signal: NodeJS.Signals): Promise<void> {
  const c = child!;
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill(signal);
  });
}

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
  const r = await fetch(`${base}${path}`, { method, ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  const text = await r.text();
  return { status: r.status, json: JSON.parse(text) as Record<string, unknown>, text };
}

before(async () => {
  upstream = await startServer({ path: syntheticModelPath(LM), alias: MODEL, mmproj: syntheticMmprojPath({ nEmbdOut: LM.nEmbd }), parallel: 2, nCtx: 256 });
  writeFileSync(join(dir, 'config.yaml'), `providers:
  up-hearth:    { type: hearth, base_url: ${upstream.base} }
  up-ollama:    { type: ollama, base_url: ${upstream.base} }
  up-anthropic: { type: anthropic, base_url: ${upstream.base} }
`);
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  await serve();
});
after(async () => {
  if (child) await kill('SIGTERM');
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Item { index: number; status: string; attempts: number; result?: { id: string; analysis: string } }

test('a server killed mid-batch resumes it on restart: no item lost, none run twice', async () => {
  const images = await Promise.all(Array.from({ length: 20 }, (_, i) => picture(36 + i, 30, i)));
  const created = await call('POST', '/api/v1/batch', { items: images.map((img) => ({ image: img.toString('base64') })), prompt: PROMPT, concurrency: 2, max_tokens: 24, temperature: 0 });
  assert.equal(created.status, 202, created.text);
  const id = String(created.json.id);
  for (let t = 0; ; t++) {
    const s = await call('GET', `/api/v1/batch/${id}`);
    if ((s.json.progress as { completed: number }).completed >= 3) break;
    assert.ok(t < 2000, 'the batch made no progress');
    await new Promise((r) => setTimeout(r, 10));
  }
  await kill('SIGKILL');
  // what the killed server left in the database
  const store = openStore(db);
  const left = store.batches.items(id);

  const before = new Map(left.filter((it) => it.status === 'completed').map((it) => [it.seq, it]));
  const running = new Set(left.filter((it) => it.status === 'running').map((it) => it.seq));
  store.close();
  assert.ok(before.size >= 3 && before.size < 20, `${before.size} items finished before the kill`);
  assert.ok(left.some((it) => it.status === 'pending'), 'items were left to run');

  await serve();
  const done = await call('GET', `/api/v1/batch/${id}?wait=true`);
  assert.equal(done.status, 200, done.text);
  assert.equal(done.json.status, 'completed');
  const items = done.json.items as Item[];
  assert.equal(items.length, 20);
  for (const it of items) {
    assert.equal(it.status, 'completed', `item ${it.index}: ${JSON.stringify(it)}`);
    const was = before.get(it.index);
    if (was) {
      // finished before the kill: kept, not run again
      assert.equal(it.result!.id, (was.result as { id: string }).id, `item ${it.index} kept its result`);
      assert.equal(it.attempts, 1);
    } else {
      // started again only where the killed server was running it (that run never finished)
      assert.equal(it.attempts, running.has(it.index) ? 2 : 1, `item ${it.index}`);
    }
  }
  // per-item run counts, from the audit: exactly one run of each item finished
  const after = openStore(db);
  try {
    const rows = after.database.db.prepare("SELECT request_id, count(*) AS n FROM usage WHERE request_id LIKE ? AND status = 200 GROUP BY request_id").all(`${id}/%`) as { request_id: string; n: number }[];
    assert.equal(rows.length, 20);
    assert.ok(rows.every((r) => Number(r.n) === 1), JSON.stringify(rows.filter((r) => Number(r.n) !== 1)));

  } finally {
    after.close();
  }
  // a resumed item's text is what a single analysis of its image gives
  const last = await call('POST', '/api/v1/analyze', { image: images[19]!.toString('base64'), prompt: PROMPT, max_tokens: 24, temperature: 0 });
  assert.equal(last.status, 200, last.text);
  assert.equal(items[19]!.result!.analysis, last.json.analysis);
});

test('remote routes (a second hearth as type hearth, ollama and anthropic) give the local route\'s analysis', async () => {
  const img = (await picture(48, 40, 3)).toString('base64');
  const body = { image: img, prompt: PROMPT, max_tokens: 8, temperature: 0 };
  const local = await call('POST', '/api/v1/analyze', { ...body, model: MODEL });
  assert.equal(local.status, 200, local.text);
  assert.equal(local.json.provider, 'local');
  for (const provider of ['up-hearth', 'up-ollama', 'up-anthropic']) {
    const r = await call('POST', '/api/v1/analyze', { ...body, model: `${provider}/${MODEL}` });
    assert.equal(r.status, 200, `${provider}: ${r.text}`);
    assert.equal(r.json.provider, provider);
    assert.equal(r.json.analysis, local.json.analysis, provider);
    assert.deepEqual(r.json.image, { width: 48, height: 40, format: 'png' });
    assert.equal((r.json.usage as { output_tokens: number }).output_tokens, 8);
  }
  // a structured format through the hearth provider (the upstream's grammar)
  const format = { type: 'object', properties: { kind: { enum: ['cat', 'dog', 'tree'] } }, required: ['kind'] };
  const s = await call('POST', '/api/v1/analyze', { ...body, max_tokens: 60, model: `up-hearth/${MODEL}`, format });
  assert.equal(s.status, 200, s.text);
  const ls = await call('POST', '/api/v1/analyze', { ...body, max_tokens: 60, model: MODEL, format });
  assert.ok(['cat', 'dog', 'tree'].includes((s.json.structured as { kind: string }).kind), s.text);
  assert.deepEqual(s.json.structured, ls.json.structured);
  // a batch through the remote route
  const b = await call('POST', '/api/v1/batch', { items: [{ image: img }, { image: img, prompt: 'And now?' }], ...body, image: undefined, model: `up-hearth/${MODEL}` });
  assert.equal(b.status, 202, b.text);
  const done = await call('GET', `/api/v1/batch/${String(b.json.id)}?wait=true`);
  const items = done.json.items as Item[];
  assert.equal(items[0]!.result!.analysis, local.json.analysis);
  assert.equal((items[1]!.result as unknown as { provider: string }).provider, 'up-hearth');
  // the upstream's models are listed beside the local one
  const models = (await call('GET', '/api/v1/models')).json.models as { id: string; provider: string }[];
  assert.ok(models.some((m) => m.id === MODEL && m.provider === 'local'), JSON.stringify(models));
  assert.ok(models.some((m) => m.id === `up-hearth/${MODEL}` && m.provider === 'up-hearth'), JSON.stringify(models));
});

test('hearth analyze: one image, and several as a batch with progress, against the running server', async () => {
  const files = await Promise.all([0, 1, 2].map(async (i) => {
    const f = join(dir, `img-${i}.png`);
    writeFileSync(f, await picture(40 + i, 32, 50 + i));
    return f;
  }));
  const env = { ...process.env, HEARTH_HOST: base };
  const hearth = (...args: string[]) => spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'hearth.js'), 'analyze', ...args], { env, encoding: 'utf8' });
  const want = await Promise.all(files.map(async (f) => (await call('POST', '/api/v1/analyze', { image: readFileSync(f).toString('base64'), prompt: PROMPT, max_tokens: 6, temperature: 0 })).json));
  const many = hearth(...files, '--prompt', PROMPT, '--max-tokens', '6', '--temperature', '0', '--json', '--concurrency', '2');
  assert.equal(many.status, 0, many.stderr);
  const got = JSON.parse(many.stdout) as { file: string; analysis: string; image: { width: number } }[];
  assert.deepEqual(got.map((r) => r.file), files);
  assert.deepEqual(got.map((r) => r.analysis), want.map((w) => w.analysis));
  assert.deepEqual(got.map((r) => r.image.width), [40, 41, 42]);
  assert.match(many.stderr, /\[#{30}\] 3\/3\n$/);
  const one = hearth(files[0]!, '--prompt', PROMPT, '--max-tokens', '6', '--temperature', '0');
  assert.equal(one.status, 0, one.stderr);
  assert.equal(one.stdout, `${String(want[0]!.analysis)}\n`);
  const bad = hearth(join(dir, 'config.yaml'));
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /hearth analyze: .*not an image/);
});
