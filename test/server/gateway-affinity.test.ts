// A `type: hearth` provider with two replicas: two real hearth servers on loopback (stories260K with a chat template,
// one slot each so that a replica's cache holds one conversation) behind a gateway. A 20-turn conversation (each
// turn sends the whole history again) with routing prefix lands every turn on one replica, which reports the cached
// prompt tokens of its previous turn in usage; with round_robin the turns alternate and each replica's cache holds
// the conversation of two turns before, so fewer tokens are reused. A dead replica is skipped and its breaker opens.
// Which replica answered is read from the replicas' own request counters (their /metrics), not from the gateway.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, chatTemplateModelPath, until, type TestServer } from './harness.ts';
import { startGateway, type GatewayServer } from './gateway-harness.ts';
import { parseGatewayConfig } from '../../src/provider/gateway/config.ts';
import { HearthError } from '../../src/util/errors.ts';

const MODEL = 'stories';
const KEY = 'hth-replica-test-key-0123456789';
let replicas: TestServer[];
let gw: GatewayServer;

before(async () => {
  const path = chatTemplateModelPath();
  replicas = await Promise.all([0, 1].map(() => startServer({ path, alias: MODEL, parallel: 1, nCtx: 1024 })));
  const urls = replicas.map((r) => r.base).join(', ');
  gw = await startGateway(`
providers:
  affine: { type: hearth, base_url: [${urls}], api_key: \${REPLICA_KEY}, breaker: { failures: 2, cooldown: 1m } }
  rr:     { type: hearth, base_url: [${urls}], routing: round_robin, breaker: { failures: 2, cooldown: 1m } }
  least:  { type: hearth, base_url: [${urls}], routing: least_load, breaker: { failures: 2, cooldown: 1m } }
`, { env: { REPLICA_KEY: KEY } });
});
after(async () => {
  await gw?.close();
  await Promise.all((replicas ?? []).map((r) => r.close()));
});

/** Chat completions each replica has answered, from its own Prometheus counters. */
async function served(r: TestServer): Promise<number> {
  const text = await (await fetch(`${r.base}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^hearth_http_requests_total\{([^}]*)\} (\d+)/gm)) if (m[1]!.includes('route="/v1/chat/completions"')) n += Number(m[2]);
  return n;
}

const USER = ['Once upon a time', 'Tell me about the cat.', 'What did the dog do?', 'Where was the park?', 'Who was happy?'];

interface Turn {
  replica: number;
  prompt: number;
  cached: number;
}

/** A `turns`-turn conversation with `model` through the gateway; each turn sends the whole history. */
async function converse(model: string, tag: string, turns: number): Promise<Turn[]> {
  const client = new OpenAI({ baseURL: `${gw.base}/v1`, apiKey: 'unused', maxRetries: 0 });
  const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [];
  const out: Turn[] = [];
  for (let t = 0; t < turns; t++) {
    messages.push({ role: 'user', content: `${t === 0 ? `${tag}. ` : ''}${USER[t % USER.length]} (${t})` });
    const before = await Promise.all(replicas.map(served));
    const r = await client.chat.completions.create({ model, messages, max_tokens: 6, temperature: 0 });
    const after = await Promise.all(replicas.map(served));
    const moved = after.map((a, i) => a - before[i]!);
    assert.equal(moved.reduce((a, b) => a + b, 0), 1, `turn ${t}: one replica answered (${moved})`);
    messages.push({ role: 'assistant', content: r.choices[0]!.message.content ?? '' });
    out.push({ replica: moved.indexOf(1), prompt: r.usage!.prompt_tokens, cached: r.usage!.prompt_tokens_details?.cached_tokens ?? -1 });
  }
  return out;
}

const sum = (turns: Turn[]) => turns.reduce((s, t) => s + t.cached, 0);

test('routing prefix: 20 turns land on one replica and reuse its cache, more than round_robin, which alternates', async () => {
  const prefix = await converse('affine/stories', 'Tom and Sue', 20);
  assert.equal(new Set(prefix.map((t) => t.replica)).size, 1, `one replica: ${prefix.map((t) => t.replica)}`);
  for (const [i, t] of prefix.entries()) {
    assert.ok(t.cached >= 0 && t.cached < t.prompt, `turn ${i}: cached ${t.cached} of ${t.prompt}`);
    // the replica's one slot holds the previous turn's prompt, which starts this one
    if (i > 0) assert.ok(t.cached >= prefix[i - 1]!.prompt - 1, `turn ${i}: cached ${t.cached}, previous prompt ${prefix[i - 1]!.prompt}`);
  }
  const rr = await converse('rr/stories', 'Ben and Lily', 20);
  for (let i = 1; i < rr.length; i++) assert.notEqual(rr[i]!.replica, rr[i - 1]!.replica, `round robin alternates: ${rr.map((t) => t.replica)}`);
  assert.ok(sum(prefix) > 0);
  assert.ok(sum(prefix) > sum(rr), `cached tokens: prefix ${sum(prefix)}, round robin ${sum(rr)}`);
  const health = gw.gateway.health().find((h) => h.name === 'affine')!;
  assert.equal(health.routing, 'prefix');
  assert.deepEqual(health.replicas!.map((r) => r.inflight), [0, 0], 'every request settled');
});

test('a client that leaves mid-stream gives its replica\'s in-flight count back', async () => {
  const inflight = () => gw.gateway.health().find((h) => h.name === 'least')!.replicas!.map((r) => r.inflight);
  const ac = new AbortController();
  const r = await fetch(`${gw.base}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
    body: JSON.stringify({ model: 'least/stories', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 900, temperature: 0, stream: true }),
  });
  assert.equal(r.status, 200);
  const reader = r.body!.getReader();
  await reader.read();
  assert.equal(inflight().reduce((a, b) => a + b, 0), 1, 'one request in flight');
  ac.abort();
  await until(() => inflight().every((n) => n === 0), 5000);
});

test('a dead replica is skipped: every turn answers from the other, and its breaker opens', async () => {
  const dead = replicas[1]!;
  await dead.close();
  const client = new OpenAI({ baseURL: `${gw.base}/v1`, apiKey: 'unused', maxRetries: 0 });
  const alive = await served(replicas[0]!);
  for (let i = 0; i < 8; i++) {
    for (const model of ['rr/stories', 'affine/stories', 'least/stories']) {
      const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: `Hello ${i}` }], max_tokens: 2, temperature: 0 });
      assert.ok(r.choices[0]!.message.content !== undefined);
    }
  }
  assert.equal(await served(replicas[0]!), alive + 24, 'the live replica answered every request');
  const rr = gw.gateway.health().find((h) => h.name === 'rr')!;
  assert.equal(rr.breaker, 'closed', 'the provider stays up');
  assert.equal(rr.replicas![1]!.breaker, 'open');
  assert.match(rr.replicas![1]!.lastError ?? '', /cannot connect/);
  assert.doesNotMatch(JSON.stringify(rr), /127\.0\.0\.1/, 'no replica address in health');
});

test('config: a list of URLs only for type hearth, routing and max_imbalance checked, each error on its line', () => {
  const parse = (text: string) => parseGatewayConfig(text, 'config.yaml', { env: {}, secret: () => undefined });
  const ok = parse('providers:\n  h: { type: hearth, base_url: [http://a:8080, http://b:8080/v1/], routing: least_load, max_imbalance: 2 }\n');
  const h = ok.providers.get('h')!;
  assert.deepEqual(h.baseUrls, ['http://a:8080/v1', 'http://b:8080/v1']);
  assert.equal(h.baseUrl, 'http://a:8080/v1');
  assert.equal(h.routing, 'least_load');
  assert.equal(h.maxImbalance, 2);
  assert.equal(h.dialect, 'openai');
  const one = parse('providers:\n  h: { type: hearth, base_url: http://a:8080 }\n').providers.get('h')!;
  assert.deepEqual([one.baseUrls, one.routing, one.maxImbalance], [['http://a:8080/v1'], 'prefix', 4]);
  const bad: [string, RegExp][] = [
    ['providers:\n  h:\n    type: hearth\n    base_url: [http://a:8080, ftp://b]\n', /config\.yaml:4: providers\.h\.base_url must be http/],
    ['providers:\n  h:\n    type: hearth\n    base_url: []\n', /config\.yaml:4: providers\.h\.base_url must list at least one/],
    ['providers:\n  h:\n    type: hearth\n    base_url:\n      - http://a:8080\n      - http://a:8080/v1\n', /config\.yaml:6: .*listed twice/],
    ['providers:\n  h:\n    type: hearth\n', /config\.yaml:3: providers\.h\.base_url is required for type hearth/],
    ['providers:\n  h:\n    type: hearth\n    base_url: [http://a:8080]\n    routing: random\n', /config\.yaml:5: providers\.h\.routing must be one of prefix, round_robin, least_load; got "random"/],
    ['providers:\n  h:\n    type: hearth\n    base_url: [http://a:8080]\n    max_imbalance: -1\n', /config\.yaml:5: providers\.h\.max_imbalance must be an integer >= 0/],
    ['providers:\n  o:\n    type: openai-compatible\n    base_url: [http://a:8080/v1, http://b:8080/v1]\n', /config\.yaml:4: .*a list of URLs is for type hearth/],
    ['providers:\n  o:\n    type: ollama\n    routing: prefix\n', /config\.yaml:4: providers\.o\.routing is for type hearth/],
    ['providers:\n  h:\n    type: hearth\n    base_url: [http://u:p@a:8080]\n', /config\.yaml:4: .*credentials in the URL are refused/],
  ];
  for (const [text, want] of bad) {
    assert.throws(() => parse(text), (e: unknown) => e instanceof HearthError && e.code === 'invalid_argument' && want.test(e.message), text);
  }
});
