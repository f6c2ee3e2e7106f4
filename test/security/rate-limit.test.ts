// Per-key rate limits on a live server: exact limits, accurate Retry-After, OpenAI's x-ratelimit-* headers,
// sliding windows across a boundary, tokens counted from the reported usage, concurrent requests.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startSecureServer, call, CHAT, type SecureServer } from './harness.ts';

const servers: SecureServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));
async function server(o: Parameters<typeof startSecureServer>[0] = {}) {
  const s = await startSecureServer(o);
  servers.push(s);
  return s;
}

test('429 exactly at the limit, with OpenAI headers; after the Retry-After wait the request succeeds (manual clock)', async () => {
  const srv = await server();
  const key = srv.store.keys.create({ name: 'rpm', rpm: 3 }).secret;
  const t0 = srv.clock.t;
  for (let i = 0; i < 3; i++) {
    srv.clock.t = t0 + i * 10_000;
    const r = await call(srv.base, '/v1/chat/completions', { key, body: CHAT });
    assert.equal(r.status, 200, `request ${i + 1}`);
    assert.equal(r.headers.get('x-ratelimit-limit-requests'), '3');
    assert.equal(r.headers.get('x-ratelimit-remaining-requests'), String(2 - i));
    assert.equal(r.headers.get('x-ratelimit-reset-requests'), '1m0s');
  }
  srv.clock.t = t0 + 25_000;
  const r = await call(srv.base, '/v1/chat/completions', { key, body: CHAT });
  assert.equal(r.status, 429);
  assert.deepEqual([r.json.error.type, r.json.error.code], ['rate_limit_error', 'rate_limited']);
  assert.match(r.json.error.message, /3 requests per 1m0s/);
  assert.equal(r.headers.get('retry-after-ms'), '35000'); // the first request leaves the window at t0 + 60 s
  assert.equal(r.headers.get('retry-after'), '35');
  assert.equal(r.headers.get('x-ratelimit-remaining-requests'), '0');
  assert.equal(r.headers.get('x-ratelimit-reset-requests'), '55s');
  srv.clock.t += 35_000 - 1;
  assert.equal((await call(srv.base, '/v1/chat/completions', { key, body: CHAT })).status, 429, 'one ms early');
  srv.clock.t += 1;
  assert.equal((await call(srv.base, '/v1/chat/completions', { key, body: CHAT })).status, 200, 'at Retry-After');
  // The Anthropic and Ollama dialects answer 429 in their own shape.
  const a = await call(srv.base, '/v1/messages', { headers: { 'x-api-key': key }, body: { model: 'stories260K', max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] } });
  assert.deepEqual([a.status, a.json.error.type], [429, 'rate_limit_error']);
  const o = await call(srv.base, '/api/tags', { key });
  assert.equal(o.status, 429);
  assert.match(o.json.error, /rate limit reached for requests/);
});

test('a burst straddling a window boundary gets no more than the limit through', async () => {
  const srv = await server();
  const key = srv.store.keys.create({ name: 'burst', rpm: 5 }).secret;
  const minute = Math.ceil(srv.clock.t / 60_000) * 60_000;
  let ok = 0;
  // 10 requests in the last 50 ms of a minute and 10 in the first 50 ms of the next: a fixed window admits 10.
  for (let i = 0; i < 20; i++) {
    srv.clock.t = minute - 50 + i * 5 + (i >= 10 ? 1 : 0);
    if ((await call(srv.base, '/v1/models', { key })).status === 200) ok++;
  }
  assert.equal(ok, 5);
});

test('Retry-After on the real clock: waiting it is enough', async () => {
  const srv = await server({ windowMs: 1200, manualClock: false });
  const key = srv.store.keys.create({ name: 'real', rpm: 2 }).secret;
  const client = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: key, maxRetries: 0 });
  await client.models.list();
  await client.models.list();
  const r = await call(srv.base, '/v1/models', { key });
  assert.equal(r.status, 429);
  const wait = Number(r.headers.get('retry-after-ms'));
  assert.ok(wait > 0 && wait <= 1200, String(wait));
  await new Promise((resolve) => setTimeout(resolve, wait));
  assert.equal((await call(srv.base, '/v1/models', { key })).status, 200);
  // The SDK reads retry-after-ms itself and retries once.
  const retrying = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: key, maxRetries: 1 });
  const t0 = performance.now();
  await retrying.models.list();
  await retrying.models.list();
  assert.ok(performance.now() - t0 < 2500);
});

test('tokens per window: counted from the reported usage; the next request waits until enough slid out', async () => {
  const srv = await server();
  const key = srv.store.keys.create({ name: 'tpm', tpm: 40 }).secret;
  const body = { ...CHAT, max_tokens: 20 };
  const first = await call(srv.base, '/v1/chat/completions', { key, body });
  assert.equal(first.status, 200);
  const used1 = first.json.usage.total_tokens;
  assert.ok(used1 > 20 && used1 < 40, String(used1));
  assert.equal(first.headers.get('x-ratelimit-limit-tokens'), '40');
  assert.equal(first.headers.get('x-ratelimit-remaining-tokens'), '40'); // admitted before its own tokens counted
  srv.clock.t += 1000;
  const second = await call(srv.base, '/v1/chat/completions', { key, body });
  assert.equal(second.status, 200);
  assert.equal(second.headers.get('x-ratelimit-remaining-tokens'), String(40 - used1));
  srv.clock.t += 1000;
  const third = await call(srv.base, '/v1/chat/completions', { key, body });
  assert.equal(third.status, 429);
  assert.match(third.json.error.message, /rate limit reached for tokens: this key allows 40 tokens/);
  // After dropping the first request's tokens, the second's alone are under 40: at first + 60 s.
  assert.equal(Number(third.headers.get('retry-after-ms')), 60_000 - 2000);
  srv.clock.t += 58_000;
  assert.equal((await call(srv.base, '/v1/chat/completions', { key, body })).status, 200);
});

test('concurrent requests: the cap refuses the next until a stream ends', async () => {
  const srv = await server();
  const key = srv.store.keys.create({ name: 'conc', concurrency: 1 }).secret;
  const res = await fetch(`${srv.base}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    // long enough to be still streaming when the second request arrives: stories260K writes a token in about a
    // millisecond, so the end-of-sequence token is banned and 256 are asked for
    body: JSON.stringify({ ...CHAT, max_tokens: 256, logit_bias: { 2: -100 }, stream: true }),
  });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  await reader.read(); // the stream is open
  const second = await call(srv.base, '/v1/models', { key });
  assert.equal(second.status, 429);
  assert.match(second.json.error.message, /1 concurrent requests/);
  assert.equal(second.headers.get('retry-after'), '1');
  while (!(await reader.read()).done);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal((await call(srv.base, '/v1/models', { key })).status, 200);
  // A client that walks away frees its slot too.
  const ac = new AbortController();
  const gone = await fetch(`${srv.base}/v1/chat/completions`, {
    method: 'POST', signal: ac.signal, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...CHAT, max_tokens: 256, stream: true }),
  });
  await gone.body!.getReader().read();
  ac.abort();
  const t0 = Date.now();
  while ((await call(srv.base, '/v1/models', { key })).status !== 200) {
    assert.ok(Date.now() - t0 < 2000, 'slot not freed');
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(srv.limiter.inFlight(srv.store.keys.list().find((k) => k.name === 'conc')!.id), 0);
});

test('every request lands in the usage audit: key, route, model, tokens, status, client', async () => {
  const srv = await server();
  const { key, secret } = srv.store.keys.create({ name: 'audit', rpm: 2 });
  const r = await call(srv.base, '/v1/chat/completions', { key: secret, body: CHAT });
  await call(srv.base, '/v1/models', { key: secret });
  await call(srv.base, '/v1/models', { key: secret }); // 429
  await call(srv.base, '/v1/models'); // 401
  const other = srv.store.keys.create({ name: 'other', models: ['llama3'] });
  assert.equal((await call(srv.base, '/v1/chat/completions', { key: other.secret, body: CHAT })).status, 403);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const rows = srv.store.database.db.prepare('SELECT key_id, route, model, prompt_tokens, completion_tokens, status, client FROM usage ORDER BY id').all();
  assert.deepEqual(rows.map((x) => ({ ...x })), [
    { key_id: key.id, route: '/v1/chat/completions', model: 'stories260K', prompt_tokens: r.json.usage.prompt_tokens, completion_tokens: 4, status: 200, client: '127.0.0.1' },
    { key_id: key.id, route: '/v1/models', model: null, prompt_tokens: null, completion_tokens: null, status: 200, client: '127.0.0.1' },
    { key_id: key.id, route: '/v1/models', model: null, prompt_tokens: null, completion_tokens: null, status: 429, client: '127.0.0.1' },
    { key_id: null, route: '/v1/models', model: null, prompt_tokens: null, completion_tokens: null, status: 401, client: '127.0.0.1' },
    { key_id: other.key.id, route: '/v1/chat/completions', model: 'stories260K', prompt_tokens: null, completion_tokens: null, status: 403, client: '127.0.0.1' },
  ]);
  const [s] = srv.store.usage.summary({ keyId: key.id });
  assert.deepEqual([s.requests, s.errors, s.rateLimited, s.completionTokens], [3, 1, 1, 4]);
});
