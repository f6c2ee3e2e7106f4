// The image-analysis service on a live server over a synthetic language model with a synthetic mmproj (the LLaVA
// layout of llava-mtmd.test.ts), keys on: POST /api/v1/analyze as JSON and as multipart (the same greedy text as
// the chat route gives for the same image and prompt), a structured format, a 20-image batch at concurrency 4
// (every result, in order, each the text a single analysis gives; never more than 4 items running at once), a
// cancel, GET /api/v1/models, bad images as 400s, and 401/403 without a key or the inference scope.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { startServer, chatTemplateModelPath, type TestServer } from '../server/harness.ts';
import { syntheticModelPath } from '../fixtures/synthetic-model.ts';
import { syntheticMmprojPath } from '../fixtures/synthetic-mmproj.ts';
import { pngHeaderOnly } from '../fixtures/png.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { InProcessRateLimiter } from '../../src/server/middleware/rate-limit.ts';

const LM = { nEmbd: 128, nLayer: 2, nHead: 4, nHeadKv: 4, nFF: 256 } as const;
const MODEL = 'llava-test';
const PROMPT = 'What is in the picture?';
const N = 8;
let srv: TestServer;
let store: Store;
let key: string;
let png: Buffer;

/** A w×h RGB PNG whose pixels depend on `seed`. */
async function picture(w: number, h: number, seed: number): Promise<Buffer> {
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * (29 + seed) + (i >> 8) * 13 + seed * 7) & 255;
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}

const auth = (k = key) => ({ authorization: `Bearer ${k}` });

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = auth()): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
  const r = await fetch(`${srv.base}${path}`, {
    method, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  let json: Record<string, unknown> = {};
  try { json = JSON.parse(text) as Record<string, unknown>; } catch { /* not JSON */ }
  return { status: r.status, json, text };
}

before(async () => {
  png = await picture(48, 40, 0);
  store = openStore(':memory:');
  key = store.keys.create({ name: 'analyst', scopes: ['inference'] }).secret;
  srv = await startServer({
    path: syntheticModelPath(LM), alias: MODEL, mmproj: syntheticMmprojPath({ nEmbdOut: LM.nEmbd }), parallel: 4, nCtx: 256,
    // a 1 s rate window, so that the per-minute limits of the keys below act within the test
    app: { security: { keys: store.keys, usage: store.usage, limiter: new InProcessRateLimiter({ windowMs: 1000 }) }, batches: store.batches },
  });
});
after(async () => {
  await srv?.close();
  store?.close();
});

test('POST /api/v1/analyze: JSON (base64 and data URL) and multipart give the chat route\'s greedy text, with the image\'s facts and usage', async () => {
  const chat = await call('POST', '/api/chat', { model: MODEL, stream: false, messages: [{ role: 'user', content: PROMPT, images: [png.toString('base64')] }], options: { temperature: 0, num_predict: N } });
  assert.equal(chat.status, 200, chat.text);
  const want = (chat.json.message as { content: string }).content;
  assert.ok(want.length > 0);

  const r = await call('POST', '/api/v1/analyze', { image: png.toString('base64'), prompt: PROMPT, model: MODEL, max_tokens: N, temperature: 0 });
  assert.equal(r.status, 200, r.text);
  assert.match(String(r.json.id), /^an_/);
  assert.equal(r.json.model, MODEL);
  assert.equal(r.json.provider, 'local');
  assert.equal(r.json.analysis, want);
  assert.deepEqual(r.json.image, { width: 48, height: 40, format: 'png' });
  const usage = r.json.usage as { input_tokens: number; output_tokens: number };
  assert.ok(usage.input_tokens > 10, `input tokens ${usage.input_tokens} (the image's rows count)`);
  assert.equal(usage.output_tokens, N);
  assert.equal(typeof r.json.duration_ms, 'number');
  assert.equal(r.json.structured, undefined);

  // a data URL, and the model left out: the server's one model
  const d = await call('POST', '/api/v1/analyze', { image: `data:image/png;base64,${png.toString('base64')}`, prompt: PROMPT, max_tokens: N, temperature: 0 });
  assert.equal(d.status, 200, d.text);
  assert.equal(d.json.analysis, want);

  const form = new FormData();
  form.set('image', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'picture.png');
  form.set('prompt', PROMPT);
  form.set('model', MODEL);
  form.set('max_tokens', String(N));
  form.set('temperature', '0');
  const m = await fetch(`${srv.base}/api/v1/analyze`, { method: 'POST', headers: auth(), body: form });
  const mj = (await m.json()) as Record<string, unknown>;
  assert.equal(m.status, 200, JSON.stringify(mj));
  assert.equal(mj.analysis, want);
  assert.deepEqual(mj.image, { width: 48, height: 40, format: 'png' });

  // each analysis is an audit row with its tokens
  const rows = store.database.db.prepare("SELECT prompt_tokens, completion_tokens, status FROM usage WHERE route = '/api/v1/analyze' AND status = 200").all() as { completion_tokens: number }[];
  assert.equal(rows.length, 3);
  assert.ok(rows.every((row) => row.completion_tokens === N));
});

test('a format (JSON schema) gives a structured result through the grammar', async () => {
  const format = { type: 'object', properties: { kind: { enum: ['cat', 'dog', 'tree'] } }, required: ['kind'] };
  const r = await call('POST', '/api/v1/analyze', { image: png.toString('base64'), prompt: PROMPT, max_tokens: 60, temperature: 0, format });
  assert.equal(r.status, 200, r.text);
  const s = r.json.structured as { kind: string };
  assert.ok(s && ['cat', 'dog', 'tree'].includes(s.kind), r.text);
  assert.deepEqual(JSON.parse(String(r.json.analysis)), s);
  // multipart carries the schema as JSON text
  const form = new FormData();
  form.set('image', new Blob([new Uint8Array(png)]), 'p.png');
  form.set('format', JSON.stringify(format));
  form.set('max_tokens', '60');
  form.set('temperature', '0');
  form.set('prompt', PROMPT);
  const m = await fetch(`${srv.base}/api/v1/analyze`, { method: 'POST', headers: auth(), body: form });
  const mj = (await m.json()) as Record<string, unknown>;
  assert.equal(m.status, 200, JSON.stringify(mj));
  assert.deepEqual(mj.structured, s);
  const bad = await call('POST', '/api/v1/analyze', { image: png.toString('base64'), format: { type: 'object', patternProperties: { x: {} } } });
  assert.equal(bad.status, 400, bad.text);
});

test('a 20-image batch at concurrency 4: every result, in order, as single analyses give them, at most 4 at once', async () => {
  const sizes = Array.from({ length: 20 }, (_, i) => [30 + i, 28 + (i % 5)] as const);
  const images = await Promise.all(sizes.map(([w, h], i) => picture(w, h, i)));
  const created = await call('POST', '/api/v1/batch', {
    items: images.map((img, i) => ({ image: img.toString('base64'), ...(i % 3 === 0 ? { prompt: `Picture ${i}?` } : {}) })),
    prompt: PROMPT, model: MODEL, concurrency: 4, max_tokens: 4, temperature: 0,
  });
  assert.equal(created.status, 202, created.text);
  assert.equal(created.json.status, 'running');
  assert.equal(created.json.total, 20);
  const id = String(created.json.id);
  const done = await call('GET', `/api/v1/batch/${id}?wait=true`);
  assert.equal(done.status, 200, done.text);
  assert.equal(done.json.status, 'completed');
  const items = done.json.items as { index: number; status: string; attempts: number; result: { analysis: string; image: { width: number; height: number } }; }[];
  assert.equal(items.length, 20);
  items.forEach((it, i) => {
    assert.equal(it.index, i);
    assert.equal(it.status, 'completed', JSON.stringify(it));
    assert.equal(it.attempts, 1);
    assert.deepEqual([it.result.image.width, it.result.image.height], sizes[i]);
  });
  assert.deepEqual((done.json.progress as { completed: number }).completed, 20);
  // the results are the single analyses of the same images and prompts
  for (const i of [0, 7, 19]) {
    const one = await call('POST', '/api/v1/analyze', { image: images[i]!.toString('base64'), prompt: i % 3 === 0 ? `Picture ${i}?` : PROMPT, max_tokens: 4, temperature: 0 });
    assert.equal(one.status, 200, one.text);
    assert.equal(items[i]!.result.analysis, one.json.analysis, `item ${i}`);
  }
  // never more than 4 running at once, and the batch did run items side by side
  const spans = store.database.db.prepare('SELECT started_at, finished_at FROM batch_items WHERE batch_id = ?').all(id) as { started_at: number; finished_at: number }[];
  let most = 0;
  for (const s of spans) most = Math.max(most, spans.filter((o) => o.started_at <= s.started_at && o.finished_at > s.started_at).length);
  assert.ok(most <= 4 && most >= 2, `at most ${most} at once`);
  // one audit row per item
  const audit = store.database.db.prepare("SELECT count(*) AS n FROM usage WHERE route = '/api/v1/batch' AND request_id LIKE ?").get(`${id}/%`) as { n: number };
  assert.equal(Number(audit.n), 20);
});

test('DELETE cancels a batch: finished items keep their results, the rest never run', async () => {
  const images = await Promise.all(Array.from({ length: 12 }, (_, i) => picture(40, 32, 100 + i)));
  const created = await call('POST', '/api/v1/batch', { items: images.map((img) => ({ image: img.toString('base64') })), prompt: PROMPT, concurrency: 1, max_tokens: 6, temperature: 0 });
  assert.equal(created.status, 202, created.text);
  const id = String(created.json.id);
  // wait for the first item to finish, then cancel
  for (let t = 0; t < 400; t++) {
    const s = await call('GET', `/api/v1/batch/${id}`);
    if ((s.json.progress as { completed: number }).completed >= 1) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const c = await call('DELETE', `/api/v1/batch/${id}`);
  assert.equal(c.status, 200, c.text);
  assert.equal(c.json.status, 'cancelled');
  const items = c.json.items as { status: string; result?: unknown }[];
  const completed = items.filter((it) => it.status === 'completed').length;
  assert.ok(completed >= 1 && completed < 12, `${completed} completed`);
  assert.ok(items.every((it) => it.status === 'completed' || it.status === 'cancelled'));
  assert.ok(items.filter((it) => it.status === 'completed').every((it) => it.result !== undefined));
  // nothing runs after: the counts stay
  await new Promise((r) => setTimeout(r, 300));
  const later = await call('GET', `/api/v1/batch/${id}?wait=true`);
  assert.equal((later.json.progress as { completed: number }).completed, completed);
  assert.equal((await call('DELETE', '/api/v1/batch/batch_nope')).status, 404);
});

test('GET /api/v1/models lists the vision model; bad images and bodies are 400s with a message', async () => {
  const models = await call('GET', '/api/v1/models');
  assert.equal(models.status, 200, models.text);
  assert.deepEqual(models.json.models, [{ id: MODEL, provider: 'local', loaded: true }]);
  const cases: [string, unknown, RegExp][] = [
    ['no image', { prompt: 'hi' }, /image is required/],
    ['not an image', { image: Buffer.from('just text').toString('base64') }, /not an image/],
    ['truncated', { image: png.subarray(0, png.length >> 1).toString('base64') }, /could not be decoded|not an image/],
    ['decompression bomb', { image: pngHeaderOnly(30000, 30000).toString('base64') }, /more than the limit/],
    ['not base64', { image: '***' }, /not base64/],
    ['a URL', { image: 'http://example.com/a.png' }, /fetches no URLs/],
    ['unknown model', { image: png.toString('base64'), model: 'nope' }, /nope/],
  ];
  for (const [name, body, message] of cases) {
    const r = await call('POST', '/api/v1/analyze', body);
    assert.ok(r.status === 400 || r.status === 404, `${name}: ${r.status} ${r.text}`);
    assert.match(r.text, message, name);
  }
  const b = await call('POST', '/api/v1/batch', { items: [{ image: '***' }] });
  assert.equal(b.status, 400, b.text);
  const unknown = await call('POST', '/api/v1/batch', { items: [{ image: png.toString('base64') }], model: 'nope' });
  assert.equal(unknown.status, 404, unknown.text);
  assert.match(unknown.text, /model \\"nope\\" not found; vision models: llava-test/);
  // a 100 MB body is refused before it is read whole, as JSON and as a form
  const huge = new Uint8Array(100 << 20);
  const form = new FormData();
  form.set('image', new Blob([huge]), 'huge.png');
  for (const body of [form, JSON.stringify({ image: Buffer.from(huge).toString('base64') })]) {
    const r = await fetch(`${srv.base}/api/v1/analyze`, { method: 'POST', headers: { ...auth(), ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}) }, body })
      .catch((e: Error) => ({ status: 0, text: async () => e.message }));
    // 413; a client still sending when the server refuses may see the connection close instead
    assert.ok(r.status === 413 || r.status === 0, `100 MB body: ${r.status}`);
  }
  assert.equal((await fetch(`${srv.base}/health`)).status, 200);
});

test('401 without a key, 403 without the inference scope, and a batch is only its key\'s', async () => {
  const body = { image: png.toString('base64'), max_tokens: 2 };
  for (const [method, path] of [['POST', '/api/v1/analyze'], ['POST', '/api/v1/batch'], ['GET', '/api/v1/batch/x'], ['DELETE', '/api/v1/batch/x'], ['GET', '/api/v1/models']] as const) {
    const r = await call(method, path, method === 'POST' ? body : undefined, {});
    assert.equal(r.status, 401, `${method} ${path}: ${r.text}`);
  }
  const reader = store.keys.create({ name: 'reader', scopes: ['models:read'] }).secret;
  const r = await call('POST', '/api/v1/analyze', body, auth(reader));
  assert.equal(r.status, 403, r.text);
  assert.match(r.text, /inference/);
  const other = store.keys.create({ name: 'other', scopes: ['inference'] }).secret;
  const created = await call('POST', '/api/v1/batch', { items: [{ image: png.toString('base64') }], max_tokens: 2 });
  assert.equal(created.status, 202);
  assert.equal((await call('GET', `/api/v1/batch/${String(created.json.id)}`, undefined, auth(other))).status, 404);
  assert.equal((await call('GET', `/api/v1/batch/${String(created.json.id)}?wait=true`)).json.status, 'completed');
  // a key limited to other models cannot reach this one, in JSON or in a form
  const limited = store.keys.create({ name: 'limited', scopes: ['inference'], models: ['other-model'] }).secret;
  assert.equal((await call('POST', '/api/v1/analyze', { ...body, model: MODEL }, auth(limited))).status, 403);
  assert.equal((await call('POST', '/api/v1/analyze', body, auth(limited))).status, 403, 'the default model is held to the list too');
  assert.equal((await call('POST', '/api/v1/batch', { items: [{ image: body.image }] }, auth(limited))).status, 403);
  const allowed = store.keys.create({ name: 'allowed', scopes: ['inference'], models: [MODEL] }).secret;
  assert.equal((await call('POST', '/api/v1/analyze', body, auth(allowed))).status, 200);
  const form = new FormData();
  form.set('image', new Blob([new Uint8Array(png)]), 'p.png');
  form.set('model', MODEL);
  const m = await fetch(`${srv.base}/api/v1/analyze`, { method: 'POST', headers: auth(limited), body: form });
  assert.equal(m.status, 403);
});

test('batch items run as requests of their key: its concurrency and request limits hold, and a revoked key stops the rest', async () => {
  const spans = (id: string) => store.database.db.prepare('SELECT started_at, finished_at, status FROM batch_items WHERE batch_id = ? ORDER BY seq').all(id) as { started_at: number; finished_at: number; status: string }[];
  const overlap = (xs: { started_at: number; finished_at: number }[]) => Math.max(...xs.map((x) => xs.filter((o) => o.started_at <= x.started_at && o.finished_at > x.started_at).length));
  const images = await Promise.all(Array.from({ length: 6 }, (_, i) => picture(32, 32, 200 + i)));
  const items = images.map((img) => ({ image: img.toString('base64') }));
  const one = store.keys.create({ name: 'one-at-a-time', scopes: ['inference'], concurrency: 1 }).secret;
  const a = await call('POST', '/api/v1/batch', { items, concurrency: 4, max_tokens: 3, temperature: 0 }, auth(one));
  assert.equal(a.status, 202, a.text);
  assert.equal((await call('GET', `/api/v1/batch/${String(a.json.id)}?wait=true`, undefined, auth(one))).json.status, 'completed');
  const sa = spans(String(a.json.id));
  assert.ok(sa.every((x) => x.status === 'completed'));
  assert.equal(overlap(sa), 1, 'the key allows one request at a time');

  const slow = store.keys.create({ name: 'two-a-window', scopes: ['inference'], rpm: 2 }).secret;
  const t0 = Date.now();
  const b = await call('POST', '/api/v1/batch', { items: items.slice(0, 5), concurrency: 4, max_tokens: 2, temperature: 0 }, auth(slow));
  assert.equal(b.status, 202, b.text);
  // (reading the batch would be a request of the key too: its state is read from the store here)
  for (let t = 0; t < 1000 && store.batches.get(String(b.json.id), null)!.status === 'running'; t++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(store.batches.get(String(b.json.id), null)!.counts.completed, 5);
  // the POST took one of the 2 requests of its window; the 5 items need at least two more windows
  assert.ok(Date.now() - t0 >= 1900, `5 items at 2 requests a second took ${Date.now() - t0} ms`);

  const revoked = store.keys.create({ name: 'revoked-later', scopes: ['inference'], concurrency: 1 });
  const c = await call('POST', '/api/v1/batch', { items: [...items, ...items], concurrency: 1, max_tokens: 6, temperature: 0 }, auth(revoked.secret));
  assert.equal(c.status, 202, c.text);
  for (let t = 0; t < 400 && spans(String(c.json.id)).every((x) => x.status !== 'completed'); t++) await new Promise((r) => setTimeout(r, 10));
  store.keys.revoke(revoked.key.id);
  for (let t = 0; t < 400 && store.batches.get(String(c.json.id), null)!.status === 'running'; t++) await new Promise((r) => setTimeout(r, 10));
  const after = store.batches.items(String(c.json.id));
  assert.ok(after.some((x) => x.status === 'completed'));
  const failed = after.filter((x) => x.status === 'failed');
  assert.ok(failed.length > 0 && failed.every((x) => x.error?.code === 'unauthorized'), JSON.stringify(after.map((x) => x.status)));
});

test('a text-only model is a 400 naming it, for one image and for a batch', async () => {
  const text = await startServer({ path: chatTemplateModelPath(), alias: 'stories', parallel: 1 });
  try {
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`${text.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, text: await r.text() };
    };
    const one = await post('/api/v1/analyze', { image: png.toString('base64') });
    assert.equal(one.status, 400, one.text);
    assert.match(one.text, /model \\"stories\\" cannot read images/);
    const many = await post('/api/v1/batch', { items: [{ image: png.toString('base64') }], model: 'stories' });
    assert.equal(many.status, 400, many.text);
    assert.match(many.text, /cannot read images/);
    const listed = (await (await fetch(`${text.base}/api/v1/models`)).json()) as { models: unknown[] };
    assert.deepEqual(listed.models, []);
  } finally {
    await text.close();
  }
});
