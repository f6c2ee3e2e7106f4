// Authentication and permissions on a live server, through the official clients and plain fetch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import { startSecureServer, call, CHAT, type SecureServer } from './harness.ts';
import { newSecret } from '../../src/store/secret.ts';
import { createApp } from '../../src/server/app.ts';
import { ModelManager } from '../../src/provider/model-manager.ts';
import { Library } from '../../src/library/library.ts';
import { unlistedRoutes } from '../../src/server/middleware/security.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let srv: SecureServer;
let user: string;

before(async () => {
  srv = await startSecureServer();
  user = srv.store.keys.create({ name: 'user' }).secret;
});
after(() => srv.close());

const openai = (apiKey: string) => new OpenAI({ baseURL: `${srv.base}/v1`, apiKey, maxRetries: 0 });

test('401 for a missing, malformed, unknown, revoked or expired key, in each dialect', async () => {
  const revoked = srv.store.keys.create({ name: 'revoked' });
  srv.store.keys.revoke(revoked.key.id);
  const expiring = srv.store.keys.create({ name: 'expiring', expiresAt: srv.clock.t + 1000 });
  assert.equal((await call(srv.base, '/v1/chat/completions', { key: expiring.secret, body: CHAT })).status, 200);
  srv.clock.t += 1000;
  const cases: [string, Record<string, string>, RegExp][] = [
    ['missing', {}, /no API key/],
    ['malformed', { authorization: 'Bearer sk-not-a-hearth-key' }, /malformed/],
    ['not bearer', { authorization: `Token ${user}` }, /must be "Bearer <key>"/],
    ['unknown', { authorization: `Bearer ${newSecret()}` }, /not valid/],
    ['revoked', { authorization: `Bearer ${revoked.secret}` }, /revoked/],
    ['expired', { 'x-api-key': expiring.secret }, /expired/],
  ];
  for (const [what, headers, re] of cases) {
    const o = await call(srv.base, '/v1/chat/completions', { headers, body: CHAT });
    assert.equal(o.status, 401, what);
    assert.equal(o.json.error.type, 'authentication_error', what);
    assert.equal(o.json.error.code, 'unauthorized');
    assert.match(o.json.error.message, re, what);
    assert.equal(o.headers.get('www-authenticate'), 'Bearer realm="hearth"');
    const a = await call(srv.base, '/v1/messages', { headers, body: { model: 'stories260K', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] } });
    assert.deepEqual([a.status, a.json.type, a.json.error.type], [401, 'error', 'authentication_error'], what);
    const l = await call(srv.base, '/api/generate', { headers, body: { model: 'stories260K', prompt: 'hi', stream: false } });
    assert.equal(l.status, 401, what);
    assert.match(l.json.error, re, what);
  }
  await assert.rejects(openai(revoked.secret).models.list(), (e) => e instanceof OpenAI.AuthenticationError);
  const anthropic = new Anthropic({ baseURL: srv.base, apiKey: newSecret(), maxRetries: 0 });
  await assert.rejects(anthropic.messages.create({ model: 'stories260K', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }),
    (e) => e instanceof Anthropic.AuthenticationError);
  await assert.rejects(new Ollama({ host: srv.base }).list(), (e: Error & { status_code?: number }) => e.status_code === 401);
});

test('a valid key works through each client: Bearer for OpenAI and Ollama, x-api-key for Anthropic', async () => {
  const r = await openai(user).chat.completions.create({ ...CHAT, messages: [{ role: 'user', content: 'Once upon a time' }] });
  assert.equal(r.choices.length, 1);
  const anthropic = new Anthropic({ baseURL: srv.base, apiKey: user, maxRetries: 0 });
  const m = await anthropic.messages.create({ model: 'stories260K', max_tokens: 4, messages: [{ role: 'user', content: 'Once' }] });
  assert.equal(m.type, 'message');
  const ollama = new Ollama({ host: srv.base, headers: { Authorization: `Bearer ${user}` } });
  assert.equal((await ollama.list()).models[0].name, 'stories260K:latest');
});

test('/health needs no key; /metrics needs the metrics scope', async () => {
  assert.equal((await call(srv.base, '/health')).status, 200);
  assert.equal((await call(srv.base, '/metrics')).status, 401);
  const m = await call(srv.base, '/metrics', { key: user });
  assert.equal(m.status, 403);
  assert.match(m.json.error.message, /"metrics" scope/);
  const scraper = srv.store.keys.create({ name: 'scraper', scopes: ['metrics'] }).secret;
  const ok = await call(srv.base, '/metrics', { key: scraper });
  assert.equal(ok.status, 200);
  assert.match(ok.text, /hearth_http_requests_total/);
  assert.equal((await call(srv.base, '/v1/chat/completions', { key: scraper, body: CHAT })).status, 403);
});

test('--metrics-open: /metrics without a key, everything else still guarded', async () => {
  const open = await startSecureServer({ security: { metricsOpen: true } });
  try {
    assert.equal((await call(open.base, '/metrics')).status, 200);
    assert.equal((await call(open.base, '/v1/models')).status, 401);
  } finally {
    await open.close();
  }
});

test('403 for a missing scope, in each dialect', async () => {
  const reader = srv.store.keys.create({ name: 'reader', scopes: ['models:read'] }).secret;
  assert.equal((await call(srv.base, '/v1/models', { key: reader })).status, 200);
  await assert.rejects(openai(reader).chat.completions.create(CHAT as never), (e) => e instanceof OpenAI.PermissionDeniedError && /"inference" scope/.test(e.message));
  const a = await call(srv.base, '/v1/messages', { headers: { 'x-api-key': reader }, body: { model: 'stories260K', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] } });
  assert.deepEqual([a.status, a.json.error.type], [403, 'permission_error']);
  const infer = srv.store.keys.create({ name: 'infer', scopes: ['inference'] }).secret;
  assert.equal((await call(srv.base, '/api/tags', { key: infer })).status, 403);
  assert.equal((await call(srv.base, '/api/embed', { key: infer, body: { model: 'stories260K', input: 'hi' } })).status, 200);
  assert.equal((await call(srv.base, '/admin/keys', { key: infer })).status, 403);
});

test('403 for a model outside the allow-list; the served model by any of its names is allowed', async () => {
  const other = srv.store.keys.create({ name: 'other', models: ['llama3'] }).secret;
  const o = await call(srv.base, '/v1/chat/completions', { key: other, body: CHAT });
  assert.equal(o.status, 403);
  assert.match(o.json.error.message, /may not use model "stories260K"/);
  assert.equal((await call(srv.base, '/api/generate', { key: other, body: { model: 'stories260K', prompt: 'x', stream: false } })).status, 403);
  assert.equal((await call(srv.base, '/v1/models/stories260K', { key: other })).status, 403);
  assert.equal((await call(srv.base, '/api/show', { key: other, body: { name: 'stories260K' } })).status, 403);
  const ours = srv.store.keys.create({ name: 'ours', models: ['stories260K:latest'] }).secret;
  assert.equal((await call(srv.base, '/v1/chat/completions', { key: ours, body: CHAT })).status, 200);
  assert.equal((await call(srv.base, '/api/generate', { key: ours, body: { model: 'stories260K:latest', prompt: 'x', stream: false, options: { num_predict: 2 } } })).status, 200);
});

test('admin endpoints: create (secret once), list (never a secret), revoke; admin scope only', async () => {
  const admin = srv.store.keys.create({ name: 'admin', scopes: ['admin'] }).secret;
  assert.equal((await call(srv.base, '/admin/keys', { key: user })).status, 403);
  assert.equal((await call(srv.base, '/admin/keys', { key: user, body: { name: 'x' } })).status, 403);
  const c = await call(srv.base, '/admin/keys', { key: admin, body: { name: 'made', scopes: ['inference'], rpm: 10, expires_in: '1h' } });
  assert.equal(c.status, 201);
  assert.match(c.json.key, /^hth_[0-9A-Za-z]{43}$/);
  assert.deepEqual([c.json.status, c.json.scopes, c.json.rpm], ['active', ['inference'], 10]);
  assert.equal(Date.parse(c.json.expires_at) - Date.parse(c.json.created_at), 3_600_000); // one clock for both: the server's
  assert.equal((await call(srv.base, '/v1/chat/completions', { key: c.json.key, body: CHAT })).status, 200);
  const l = await call(srv.base, '/admin/keys', { key: admin });
  assert.equal(l.status, 200);
  assert.ok(!l.text.includes(c.json.key.slice(12)), 'a listing shows a secret');
  const listed = l.json.data.find((k: { id: string }) => k.id === c.json.id);
  assert.equal(listed.prefix, c.json.key.slice(0, 12));
  assert.ok(listed.last_used_at);
  const bad = await call(srv.base, '/admin/keys', { key: admin, body: { name: 'x', scopes: ['root'] } });
  assert.deepEqual([bad.status, bad.json.error.code], [400, 'invalid_argument']);
  const d = await call(srv.base, `/admin/keys/${c.json.id}`, { key: admin, method: 'DELETE' });
  assert.deepEqual([d.status, d.json.status], [200, 'revoked']);
  assert.equal((await call(srv.base, '/v1/chat/completions', { key: c.json.key, body: CHAT })).status, 401);
  assert.equal((await call(srv.base, '/admin/keys/key_missing', { key: admin, method: 'DELETE' })).status, 404);
});

test('browsers: an Origin not allowed is refused; an added one gets CORS headers and preflights', async () => {
  const refused = await call(srv.base, '/v1/models', { key: user, headers: { origin: 'https://evil.example' } });
  assert.equal(refused.status, 403);
  assert.match(refused.json.error.message, /origin "https:\/\/evil.example" are not allowed/);
  const cors = await startSecureServer({ security: { corsOrigins: ['https://app.example:3000'] } });
  try {
    const key = cors.store.keys.create({ name: 'web' }).secret;
    const pre = await call(cors.base, '/v1/chat/completions', {
      method: 'OPTIONS', headers: { origin: 'https://app.example:3000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example:3000');
    assert.equal(pre.headers.get('access-control-allow-headers'), 'authorization, content-type');
    const ok = await call(cors.base, '/v1/models', { key, headers: { origin: 'https://app.example:3000' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example:3000');
    assert.equal((await call(cors.base, '/v1/models', { key, headers: { origin: 'https://app.example:3001' } })).status, 403);
    // the local origins stay allowed beside the added one
    assert.equal((await call(cors.base, '/v1/models', { key, headers: { origin: 'http://localhost:3001' } })).status, 200);
  } finally {
    await cors.close();
  }
});

test('every route the app serves has an entry in the access table', () => {
  const home = mkdtempSync(join(tmpdir(), 'hearth-routes-'));
  const library = Library.open({ HEARTH_HOME: home, HEARTH_MODELS: join(home, 'models') });
  try {
    // with the library as its source, so that the routes that change it are there too
    const app = createApp({ models: new ModelManager({ source: library, load: () => Promise.reject(new Error('no loads here')) }) });
    assert.deepEqual(unlistedRoutes(app), []);
  } finally {
    library.close();
    rmSync(home, { recursive: true, force: true });
  }
});
