// One server, several models, as `hearth serve` with no MODEL builds it: the library in a temp HEARTH_HOME, each
// model loaded by its first request (stories260K under three names, plus a "big" copy whose extra tensor makes its
// estimate exceed the budget), a memory budget of two models' estimates, keep-alive. Through the ollama client:
// alternating requests, keep_alive 0 and durations, least-recently-used eviction, insufficient_memory, one load for
// concurrent requests while /health stays 200 and /api/ps shows the load, a split model. Measured: ~3 s.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Ollama } from 'ollama';
import { STORIES, until } from './harness.ts';
import { openGGUF, writeGGUF } from '../../src/gguf/index.ts';
import { GGMLType } from '../../src/gguf/ggml-types.ts';
import { createApp } from '../../src/server/app.ts';
import { Library } from '../../src/library/library.ts';
import { localModelBytes, ModelManager } from '../../src/provider/model-manager.ts';
import { localModelLoader } from '../../src/provider/local-provider.ts';
import { applyPreset } from '../../src/provider/preset-provider.ts';
import { parseDuration } from '../../src/api/ollama/options.ts';
import type { LibraryModel } from '../../src/library/types.ts';
import { writeSplitGGUF } from '../fixtures/split-gguf.ts';

const home = mkdtempSync(join(tmpdir(), 'hearth-models-'));
const dir = join(home, 'models');
let app: FastifyInstance, manager: ModelManager, library: Library, ollama: Ollama, base = '';
const loads: string[] = [];
/** While set, loads wait for it: the concurrent-load test holds a load open. */
let gate: Promise<void> | undefined;
const estimate = (m: LibraryModel) => localModelBytes(m.path, { parallel: 2 });

before(async () => {
  mkdirSync(dir);
  for (const n of ['alpha', 'bravo', 'charlie']) copyFileSync(STORIES, join(dir, `${n}.gguf`));
  // stories260K plus an unused 24M-element f32 tensor: 96 MB more weights than the budget can hold
  const src = openGGUF(STORIES);
  try {
    const pad = 24 * 1024 * 1024;
    writeGGUF(join(dir, 'big.gguf'), {
      metadata: src.metadata,
      tensors: [...src.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.type, data: () => src.readTensor(t) })),
        { name: 'pad.weight', shape: [pad], type: GGMLType.F32, data: () => new Uint8Array(pad * 4) }],
    });
  } finally {
    src.close();
  }
  library = Library.open({ HEARTH_HOME: home, HEARTH_MODELS: dir });
  const load = localModelLoader({ scheduler: { parallel: 2, queueLimit: 8 } });
  const one = estimate(library.require('alpha'));
  manager = new ModelManager({
    source: library,
    load: async (m) => {
      loads.push(m.name);
      await gate;
      return load(m);
    },
    estimate,
    keepAliveMs: 5 * 60_000,
    // two models fit, three do not
    maxMemory: Math.floor(2.5 * one),
  });
  app = createApp({ models: manager });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  ollama = new Ollama({ host: base });
});

after(async () => {
  await app.close();
  library.close();
  rmSync(home, { recursive: true, force: true });
});

const ask = (model: string, keep_alive?: string | number) =>
  ollama.generate({ model, prompt: 'Once upon a time', raw: true, stream: false, keep_alive, options: { num_predict: 4, temperature: 0 } });
const loaded = async () => (await ollama.ps()).models.map((m) => m.name).sort();

test('keep_alive reads as Ollama: Go durations, seconds, negative forever', () => {
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('-1m'), -60_000);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('90'), 90_000);
  assert.ok(Number.isNaN(parseDuration('soon')));
});

test('requests alternate between models, each loaded once by its first request; /api/ps shows size, context and expiry', async () => {
  const want = (await ask('alpha')).response ?? '';
  assert.ok(want.length > 0);
  assert.equal((await ask('bravo')).response, want);
  assert.equal((await ask('alpha')).response, want);
  assert.equal((await ask('bravo:latest')).response, want);
  assert.deepEqual(loads, ['alpha', 'bravo']);
  const ps = (await ollama.ps()).models;
  assert.deepEqual(ps.map((m) => m.name).sort(), ['alpha:latest', 'bravo:latest']);
  for (const m of ps) {
    assert.equal(m.size, estimate(library.require(m.name)));
    assert.ok((m as unknown as { context_length: number }).context_length > 0);
    const left = new Date(m.expires_at).getTime() - Date.now();
    assert.ok(left > 4 * 60_000 && left <= 5 * 60_000, `expires in ${left} ms`);
  }
});

test('with a budget that holds two, a third model evicts the least recently used idle one', async () => {
  await ask('alpha'); // bravo is now the least recently used
  await ask('charlie');
  assert.deepEqual(await loaded(), ['alpha:latest', 'charlie:latest']);
  assert.deepEqual(loads.slice(-1), ['charlie']);
});

test('a model bigger than the budget gets insufficient_memory naming the bytes and what is loaded; the server lives on', async () => {
  await assert.rejects(ask('big'), (e: Error & { status_code?: number }) => {
    assert.equal(e.status_code, 500);
    assert.match(e.message, /model "big" requires more memory \(\d+(\.\d+)? MiB\) than is available \(\d+(\.\d+)? MiB, --max-memory\); loaded: alpha \d.*, charlie/);
    return true;
  });
  assert.ok(!loads.includes('big'));
  assert.deepEqual(await loaded(), ['alpha:latest', 'charlie:latest']);
  assert.ok(((await ask('alpha')).response ?? '').length > 0);
});

test('keep_alive 0 unloads after the request; a duration sets the expiry; an empty prompt with keep_alive 0 unloads (ollama stop)', async () => {
  await ask('charlie', 0);
  await until(() => !manager.list().some((m) => m.name === 'charlie'));
  assert.deepEqual(await loaded(), ['alpha:latest']);
  await ask('bravo', '300ms');
  const exp = (await ollama.ps()).models.find((m) => m.name === 'bravo:latest')!;
  assert.ok(new Date(exp.expires_at).getTime() - Date.now() <= 300);
  await until(() => !manager.list().some((m) => m.name === 'bravo'), 3000);
  await ask('alpha', -1);
  assert.equal((await ollama.ps()).models[0]!.expires_at, '2318-01-01T00:00:00Z');
  const r = await ollama.generate({ model: 'alpha', prompt: '', keep_alive: 0, stream: false });
  assert.equal(r.done_reason, 'unload');
  assert.deepEqual(await loaded(), []);
});

test('concurrent requests for an unloaded model wait for one load; /health stays 200 and /api/ps shows it loading', async () => {
  let open!: () => void;
  gate = new Promise<void>((r) => (open = r));
  const before = loads.length;
  const asked = [ask('alpha'), ask('alpha'), ask('alpha')];
  await until(() => loads.length > before);
  const health = await fetch(`${base}/health`);
  assert.equal(health.status, 200);
  assert.deepEqual((await health.json() as { loading: string[] }).loading, ['alpha']);
  const ps = await (await fetch(`${base}/api/ps`)).json() as { models: { name: string; state: string }[] };
  assert.deepEqual(ps.models.map((m) => [m.name, m.state]), [['alpha:latest', 'loading']]);
  open();
  gate = undefined;
  const answers = await Promise.all(asked);
  assert.equal(new Set(answers.map((a) => a.response)).size, 1);
  assert.deepEqual(loads.slice(before), ['alpha']);
});

test('a split model dropped into the folder is listed once and served as one model', async () => {
  const whole = openGGUF(STORIES);
  const n = whole.tensors.length;
  whole.close();
  const half = Math.floor((n - 1) / 2);
  const parts = writeSplitGGUF(STORIES, dir, { prefix: 'echo', tensorsPerPart: [1, half, n - 1 - half] });
  const tags = (await ollama.list()).models.filter((m) => m.name.startsWith('echo'));
  assert.deepEqual(tags.map((m) => m.name), ['echo:latest']);
  assert.equal(tags[0]!.size, parts.reduce((s, p) => s + statSync(p).size, 0));
  assert.equal((await ask('echo')).response, (await ask('alpha')).response);
});

test('deleting a loaded model unloads it', async () => {
  await ollama.copy({ source: 'alpha', destination: 'delta' });
  await ask('delta');
  assert.ok((await loaded()).includes('delta:latest'));
  await ollama.delete({ model: 'delta' });
  assert.ok(!(await loaded()).includes('delta:latest'));
});

test('a preset answers with its system prompt and parameters unless the request sets its own', async () => {
  const req = { model: 'x', prompts: [{ kind: 'chat' as const, messages: [{ role: 'user' as const, content: 'hi' }] }], n: 1, sampling: { topK: 5 }, stop: [], stream: false };
  const out = applyPreset(req, { from: 'alpha', system: 'Be brief.', parameters: { temperature: 0.1, top_k: 9, num_predict: 7, stop: ['END'] } });
  assert.deepEqual(out.prompts[0], { kind: 'chat', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }] });
  assert.equal(out.sampling.temperature, 0.1);
  assert.equal(out.sampling.topK, 5);
  assert.equal(out.maxTokens, 7);
  assert.deepEqual(out.stop, ['END']);
  // through the server: a preset with num_predict 2 generates 2 tokens when the request gives no limit
  await ollama.create({ model: 'terse', from: 'alpha', parameters: { num_predict: 2, temperature: 0 } });
  const r = await ollama.generate({ model: 'terse', prompt: 'Once upon a time', raw: true, stream: false });
  assert.equal(r.eval_count, 2);
  const own = await ollama.generate({ model: 'terse', prompt: 'Once upon a time', raw: true, stream: false, options: { num_predict: 3 } });
  assert.equal(own.eval_count, 3);
});
