// The gateway's failure handling against a real hearth upstream behind a TCP proxy the test controls: an upstream
// cut off mid-stream ends each dialect's stream with its error event within a second; a 429 with Retry-After is
// retried after the wait, then the next route answers; a hanging upstream hits the first-byte timeout and the next
// route answers; the breaker opens after N failures, skips the provider, and closes after a successful probe; and
// the upstream's API key is in no log line, response or database row.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { startServer, until, type TestServer } from './harness.ts';
import { startGateway, type GatewayServer } from './gateway-harness.ts';
import { startProxy, type TcpProxy } from './tcp-proxy.ts';
import { tempDir } from '../security/harness.ts';
import { openStore, type Store } from '../../src/store/store.ts';

const MODEL = 'stories260K';
const KEY = 'sk-live-SECRETupstreamKEY-0123456789abcdef';
let up: TestServer;
let proxies: Record<'cut' | 'limited' | 'hang' | 'breaker' | 'leak' | 'canned', TcpProxy>;
let gw: GatewayServer;
let store: Store;
let dbPath: string;
const logs: string[] = [];

before(async () => {
  up = await startServer({ parallel: 4 });
  const target = { host: '127.0.0.1', port: Number(new URL(up.base).port) };
  proxies = {
    cut: await startProxy(target), limited: await startProxy(target), hang: await startProxy(target),
    breaker: await startProxy(target), leak: await startProxy(target), canned: await startProxy(target),
  };
  // an upstream whose stream reports no usage (set before any connection, so that none is kept alive in another mode)
  const frame = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
  const canned = frame({ choices: [{ index: 0, delta: { content: 'Hello there, friend' } }] }) + frame({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) + 'data: [DONE]\n\n';
  proxies.canned.mode = { kind: 'status', status: 200, headers: { 'content-type': 'text/event-stream' }, body: canned };
  dbPath = join(tempDir(), 'hearth.db');
  store = openStore(dbPath);
  gw = await startGateway(`
providers:
  good:    { type: openai-compatible, base_url: ${up.base}/v1 }
  cut-oa:  { type: openai-compatible, base_url: ${proxies.cut.base}/v1, retries: 0 }
  cut-an:  { type: anthropic, base_url: ${proxies.cut.base}, retries: 0 }
  cut-ol:  { type: ollama, base_url: ${proxies.cut.base}, retries: 0 }
  limited: { type: openai-compatible, base_url: ${proxies.limited.base}/v1, retries: 1 }
  hang:    { type: ollama, base_url: ${proxies.hang.base}, first_byte_timeout: 300ms, retries: 0 }
  flaky:   { type: openai-compatible, base_url: ${proxies.breaker.base}/v1, retries: 0, breaker: { failures: 2, cooldown: 500ms } }
  leaky:   { type: openai, base_url: ${proxies.leak.base}/v1, api_key: \${LEAK_KEY}, retries: 0 }
  canned:  { type: openai-compatible, base_url: ${proxies.canned.base}/v1, retries: 0 }
models:
  after-429:   { route: [limited/${MODEL}, good/${MODEL}] }
  after-hang:  { route: [hang/${MODEL}, good/${MODEL}] }
  after-flaky: { route: [flaky/${MODEL}, good/${MODEL}] }
  after-leak:  { route: [leaky/${MODEL}, good/${MODEL}] }
`, {
    env: { LEAK_KEY: KEY },
    app: { logger: { level: 'trace', stream: { write: (line: string) => void logs.push(line) } }, security: { usage: store.usage } },
  });
});
after(async () => {
  await gw?.close();
  for (const p of Object.values(proxies ?? {})) await p.close();
  await up?.close();
  store?.close();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${gw.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const chat = (model: string) => ({ model, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 8, temperature: 0 });

test('an upstream cut off mid-stream ends the stream with the dialect\'s error event within 1 s', async () => {
  proxies.cut.mode = { kind: 'cut', afterBytes: 900 };
  const clients: [string, (model: string) => [string, unknown, Record<string, string>?], RegExp][] = [
    ['openai', (model) => ['/v1/chat/completions', { ...chat(model), max_tokens: 400, stream: true }], /data: \{"error":\{"message":"[^"]*provider \\"cut-/],
    ['anthropic', (model) => ['/v1/messages', { ...chat(model), max_tokens: 400, stream: true }, { 'anthropic-version': '2023-06-01' }], /event: error\ndata: \{"type":"error"/],
    ['ollama', (model) => ['/api/chat', { ...chat(model), options: { num_predict: 400, temperature: 0 }, max_tokens: undefined, stream: true }], /\{"error":"[^"]*provider \\"cut-/],
  ];
  for (const [dialect, body, errorFrame] of clients) {
    for (const provider of ['cut-oa', 'cut-an', 'cut-ol']) {
      proxies.cut.cutAt = undefined;
      const [path, b, h] = body(`${provider}/${MODEL}`);
      const r = await post(path, b, h);
      assert.equal(r.status, 200, `${dialect} ${provider}`);
      const text = await r.text();
      const ended = performance.now();
      assert.ok(proxies.cut.cutAt !== undefined, 'the proxy cut the stream');
      assert.ok(ended - proxies.cut.cutAt! < 1000, `${dialect} ${provider}: the stream ended ${ended - proxies.cut.cutAt!} ms after the cut`);
      assert.match(text, errorFrame, `${dialect} ${provider}: ${text.slice(-300)}`);
      assert.doesNotMatch(text, /127\.0\.0\.1/);
    }
  }
});

test('a 429 with Retry-After: 1 is retried after a second, then the next route answers', async () => {
  proxies.limited.mode = { kind: 'status', status: 429, headers: { 'retry-after': '1' }, body: '{"error":{"message":"slow down"}}' };
  const before = proxies.limited.connections;
  const t0 = performance.now();
  const r = await post('/v1/chat/completions', chat('after-429'));
  const ms = performance.now() - t0;
  assert.equal(r.status, 200, await r.clone().text());
  assert.ok(((await r.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content.length > 0);
  assert.ok(ms >= 1000 && ms < 3000, `took ${ms} ms`);
  // one request and its retry (on one kept-alive connection or two)
  assert.ok(proxies.limited.connections - before >= 1);
  // a provider/model name alone gets the upstream's 429 back, with its message
  const direct = await post('/v1/chat/completions', chat(`limited/${MODEL}`));
  assert.equal(direct.status, 429);
  assert.match(await direct.text(), /slow down/);
});

test('a hanging upstream hits the first-byte timeout and the next route answers', async () => {
  proxies.hang.mode = { kind: 'hang' };
  const t0 = performance.now();
  const r = await post('/v1/chat/completions', chat('after-hang'));
  const ms = performance.now() - t0;
  assert.equal(r.status, 200);
  assert.ok(ms >= 300 && ms < 2000, `took ${ms} ms`);
  const alone = await post('/v1/chat/completions', chat(`hang/${MODEL}`));
  assert.equal(alone.status, 504);
  assert.match(await alone.text(), /no answer within 300 ms/);
});

test('the breaker opens after 2 failures, skips the provider, and closes after a successful probe', async () => {
  const state = async () => ((await (await fetch(`${gw.base}/health`)).json()) as { providers: { name: string; breaker: string }[] }).providers.find((p) => p.name === 'flaky')!.breaker;
  proxies.breaker.mode = { kind: 'refuse' };
  for (let i = 0; i < 2; i++) assert.equal((await post('/v1/chat/completions', chat('after-flaky'))).status, 200);
  assert.equal(await state(), 'open');
  const seen = proxies.breaker.connections;
  assert.equal((await post('/v1/chat/completions', chat('after-flaky'))).status, 200);
  assert.equal(proxies.breaker.connections, seen, 'an open breaker sends nothing to the provider');
  const metrics = await (await fetch(`${gw.base}/metrics`)).text();
  assert.match(metrics, /hearth_upstream_breaker_state\{provider="flaky"\} 2/);
  assert.match(metrics, /hearth_upstream_errors_total\{provider="flaky",class="reset"\} 2/);
  proxies.breaker.mode = { kind: 'pass' };
  await new Promise((r) => setTimeout(r, 600));
  const r = await post('/v1/chat/completions', chat('after-flaky'));
  assert.equal(r.status, 200);
  assert.ok(proxies.breaker.connections > seen, 'the probe reached the provider');
  assert.equal(await state(), 'closed');
  assert.match(await (await fetch(`${gw.base}/metrics`)).text(), /hearth_upstream_breaker_state\{provider="flaky"\} 0/);
});

test('the upstream API key and address appear in no log line, response or database row', async () => {
  // an upstream that echoes the key and its own URL in its error
  proxies.leak.mode = { kind: 'status', status: 401, body: JSON.stringify({ error: { message: `Incorrect API key provided: ${KEY} for ${proxies.leak.base}/v1/chat/completions` } }) };
  const seen: string[] = [];
  for (const model of [`leaky/${MODEL}`, 'after-leak']) {
    for (const stream of [false, true]) {
      const r = await post('/v1/chat/completions', { ...chat(model), stream });
      seen.push(`${r.status} ${JSON.stringify([...r.headers])} ${await r.text()}`);
    }
  }
  proxies.leak.mode = { kind: 'status', status: 500, body: `upstream at ${proxies.leak.base} failed with Bearer ${KEY}` };
  const r = await post('/v1/messages', chat(`leaky/${MODEL}`), { 'anthropic-version': '2023-06-01' });
  seen.push(await r.text());
  assert.match(seen[0]!, /^403 .*Incorrect API key provided: \[redacted\] for \[provider leaky\]\/chat\/completions/);
  assert.match(seen.at(-1)!, /api_error/);
  seen.push(await (await fetch(`${gw.base}/health`)).text(), await (await fetch(`${gw.base}/metrics`)).text(), await (await fetch(`${gw.base}/v1/models`)).text());
  await new Promise((r) => setTimeout(r, 50));
  const db = new DatabaseSync(dbPath, { readOnly: true });
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
  const rows = tables.flatMap((t) => db.prepare(`SELECT * FROM "${t}"`).all().map((row) => JSON.stringify(row)));
  db.close();
  // the alias's answer came from its second route
  assert.ok(rows.some((row) => row.includes('"model":"after-leak"') && row.includes('"provider":"good"')), 'the usage rows name the provider');
  // and a request that failed names the provider that failed it
  assert.ok(rows.some((row) => row.includes(`"model":"leaky/${MODEL}"`) && row.includes('"provider":"leaky"') && row.includes('"status":403')), 'a failed request names its provider');
  const port = new URL(proxies.leak.base).port;
  for (const [where, texts] of [['responses', seen], ['logs', logs], ['database', rows]] as const) {
    for (const t of texts) {
      assert.ok(!t.includes(KEY) && !t.includes('SECRETupstreamKEY'), `${where}: ${t.slice(0, 300)}`);
      assert.ok(!t.includes(`127.0.0.1:${port}`), `${where} names the upstream's address: ${t.slice(0, 300)}`);
    }
  }
});

test('usage rows name the provider and upstream model, and mark estimated counts', async () => {
  const r = await post('/v1/chat/completions', chat(`good/${MODEL}`));
  assert.equal(r.status, 200);
  await new Promise((res) => setTimeout(res, 50));
  const db = new DatabaseSync(dbPath, { readOnly: true });
  const row = db.prepare("SELECT model, provider, upstream_model, tokens_estimated, prompt_tokens, completion_tokens FROM usage WHERE provider = 'good' ORDER BY id DESC LIMIT 1").get() as Record<string, unknown>;
  db.close();
  assert.deepEqual({ ...row }, { model: `good/${MODEL}`, provider: 'good', upstream_model: MODEL, tokens_estimated: 0, prompt_tokens: row.prompt_tokens, completion_tokens: 8 });
  assert.ok(Number(row.prompt_tokens) > 0);
});

test('an upstream stream without usage gets estimated counts, marked so in the usage row', async () => {
  const r = await post('/v1/chat/completions', chat(`canned/${MODEL}`));
  const answer = await r.json() as { choices: { message: { content: string } }[]; usage: { completion_tokens: number } };
  assert.equal(answer.choices[0]!.message.content, 'Hello there, friend');
  assert.equal(answer.usage.completion_tokens, 5);
  await new Promise((res) => setTimeout(res, 50));
  const db = new DatabaseSync(dbPath, { readOnly: true });
  const row = db.prepare("SELECT tokens_estimated, completion_tokens FROM usage WHERE provider = 'canned' ORDER BY id DESC LIMIT 1").get() as Record<string, unknown>;
  db.close();
  assert.deepEqual({ ...row }, { tokens_estimated: 1, completion_tokens: 5 });
});

test('a client that leaves mid-stream cancels the upstream request at once', async () => {
  const provider = up.host.ready();
  const r = await post('/v1/chat/completions', { ...chat(`good/${MODEL}`), max_tokens: 2000, stream: true }, {});
  const reader = r.body!.getReader();
  await reader.read();
  // (the upstream's slot may still be taking the request when the first frame arrives)
  await until(() => provider.stats().busy === 1, 1000).catch(() => {});
  const t0 = performance.now();
  await reader.cancel();
  while (provider.stats().busy > 0) {
    assert.ok(performance.now() - t0 < 1000, 'the upstream still generates a second after the client left');
    await new Promise((res) => setTimeout(res, 5));
  }
});
