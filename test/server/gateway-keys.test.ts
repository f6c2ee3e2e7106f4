// The same keys, scopes, allow-lists and token limits in front of upstream names: a key's model allow-list names
// aliases and provider/model names as it names local models, and its token limit counts the upstream's usage.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, type TestServer } from './harness.ts';
import { startGateway, type GatewayServer } from './gateway-harness.ts';
import { tempDir } from '../security/harness.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { InProcessRateLimiter } from '../../src/server/middleware/rate-limit.ts';

let up: TestServer;
let gw: GatewayServer;
let store: Store;

before(async () => {
  up = await startServer({});
  store = openStore(join(tempDir(), 'hearth.db'));
  gw = await startGateway(`providers:\n  up: { type: ollama, base_url: ${up.base} }\nmodels:\n  smart: { route: [up/stories260K] }\n`, {
    app: { security: { keys: store.keys, usage: store.usage, limiter: new InProcessRateLimiter({ windowMs: 60_000 }) } },
  });
});
after(async () => {
  await gw?.close();
  await up?.close();
  store?.close();
});

const chat = (key: string, model: string) => fetch(`${gw.base}/v1/chat/completions`, {
  method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
  body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 8, temperature: 0 }),
});

test('a key\'s allow-list names aliases and provider/model names; scopes apply', async () => {
  const { secret } = store.keys.create({ name: 'alias-only', scopes: ['inference'], models: ['smart'] });
  assert.equal((await chat(secret, 'smart')).status, 200);
  const r = await chat(secret, 'up/stories260K');
  assert.equal(r.status, 403);
  assert.match(await r.text(), /may not use model \\"up\/stories260K\\"/);
  const reader = store.keys.create({ name: 'reader', scopes: ['models:read'] }).secret;
  assert.equal((await chat(reader, 'smart')).status, 403);
  assert.equal((await chat('hth_wrong', 'smart')).status, 401);
});

test('a token limit counts the upstream\'s reported usage', async () => {
  const { secret } = store.keys.create({ name: 'tpm', scopes: ['inference'], tpm: 12 });
  const first = await chat(secret, 'up/stories260K');
  const body = await first.json() as { usage: { prompt_tokens: number; completion_tokens: number } };
  assert.equal(first.status, 200);
  assert.ok(body.usage.prompt_tokens + body.usage.completion_tokens >= 12, JSON.stringify(body.usage));
  const second = await chat(secret, 'up/stories260K');
  assert.equal(second.status, 429);
  assert.match(await second.text(), /rate limit reached for tokens/);
});
