// The gateway against a real upstream: a second hearth server on loopback (stories260K with Qwen3's chat template)
// is the upstream in each of its three dialects, and as the lmstudio and openai-compatible types pointed at its
// OpenAI dialect. Through the gateway, every client dialect x upstream dialect pair gives the same greedy text as the
// upstream asked directly in the dialect the gateway speaks to it (hearth's dialects differ slightly among themselves:
// its Ollama API keeps a trailing newline its OpenAI API trims), streamed and not, with tools (a forced call where both
// dialects can force one; a tool history round trip everywhere).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sharedPath } from '../shared.ts';
import { startServer, chatTemplateModelPath, type TestServer } from './harness.ts';
import { ask, CLIENT_DIALECTS, startGateway, type Ask, type ClientDialect, type GatewayServer } from './gateway-harness.ts';

const QWEN3 = (JSON.parse(readFileSync(sharedPath('tokenizers', 'qwen3', 'tokenizer_config.json'), 'utf8')) as { chat_template: string }).chat_template;
const MODEL = 'toolish';
let up: TestServer;
let gw: GatewayServer;

/** Provider names by the upstream dialect they speak (lmstudio and openai-compatible speak OpenAI's). */
const UPSTREAMS = { openai: 'up-compat', anthropic: 'up-anthropic', ollama: 'up-ollama' } as const;

before(async () => {
  up = await startServer({ path: chatTemplateModelPath(QWEN3), alias: MODEL, parallel: 4, nCtx: 2048 });
  gw = await startGateway(`
providers:
  up-compat:    { type: openai-compatible, base_url: ${up.base}/v1, timeout: 30s }
  up-lmstudio:  { type: lmstudio, base_url: ${up.base}/v1 }
  up-openai:    { type: openai, base_url: ${up.base}/v1, api_key: \${UP_KEY} }
  up-anthropic: { type: anthropic, base_url: ${up.base}, api_key: \${UP_KEY} }
  up-ollama:    { type: ollama, base_url: ${up.base} }
models:
  smart: { route: [up-anthropic/${MODEL}, up-compat/${MODEL}] }
mcp_servers:
  files: { command: /usr/bin/files-server, workspace: /tmp }
`, { env: { UP_KEY: 'sk-upstream-test-0123456789' } });
});
after(async () => {
  await gw?.close();
  await up?.close();
});

const WEATHER = {
  type: 'object', properties: { city: { type: 'string', maxLength: 8 }, unit: { enum: ['c', 'f'] } }, required: ['city', 'unit'], additionalProperties: false,
};
const tools = [{ name: 'get_weather', description: 'Weather in a city', parameters: WEATHER }];
const plain = (model: string, stream: boolean): Ask => ({ model, messages: [{ role: 'user', content: 'Once upon a time' }], maxTokens: 16, stream });
const forced = (model: string, stream: boolean): Ask => ({ model, messages: [{ role: 'user', content: 'What is the weather in Paris?' }], maxTokens: 300, stream, tools, force: true });
const history = (model: string, stream: boolean): Ask => ({
  model, maxTokens: 12, stream, tools,
  messages: [
    { role: 'user', content: 'What is the weather in Paris?' },
    { role: 'assistant', content: '', calls: [{ id: 'call_1', name: 'get_weather', args: { city: 'Paris', unit: 'c' } }] },
    { role: 'tool', content: '18 degrees', toolCallId: 'call_1' },
  ],
});

for (const client of CLIENT_DIALECTS) {
  for (const [upDialect, provider] of Object.entries(UPSTREAMS)) {
    test(`${client} client -> ${upDialect} upstream: the same greedy text and tool round trip as direct, streamed and not`, async () => {
      for (const stream of [false, true]) {
        const direct = await ask(upDialect as ClientDialect, up.base, plain(MODEL, stream));
        assert.ok(direct.text.length > 0);
        assert.deepEqual(await ask(client, gw.base, plain(`${provider}/${MODEL}`, stream)), direct, `plain, stream ${stream}`);
        const past = await ask(upDialect as ClientDialect, up.base, history(MODEL, stream));
        assert.deepEqual(await ask(client, gw.base, history(`${provider}/${MODEL}`, stream)), past, `tool history, stream ${stream}`);
      }
    });
  }
}

for (const client of ['openai', 'anthropic'] as const) {
  for (const upDialect of ['openai', 'anthropic'] as const) {
    test(`${client} client -> ${upDialect} upstream: a forced tool call is the same call as direct, streamed and not`, async () => {
      for (const stream of [false, true]) {
        const direct = await ask(upDialect, up.base, forced(MODEL, stream));
        assert.equal(direct.calls.length, 1, JSON.stringify(direct));
        assert.equal(direct.calls[0]!.name, 'get_weather');
        assert.deepEqual(await ask(client, gw.base, forced(`${UPSTREAMS[upDialect]}/${MODEL}`, stream)), direct, `stream ${stream}`);
      }
    });
  }
}

test('a forced call to an Ollama upstream is a 400 naming tool_choice (Ollama\'s API cannot force one)', async () => {
  for (const client of ['openai', 'anthropic'] as const) {
    await assert.rejects(ask(client, gw.base, forced(`${UPSTREAMS.ollama}/${MODEL}`, false)), (e: Error & { status?: number }) =>
      e.status === 400 && /tool_choice/.test(e.message) && /up-ollama/.test(e.message));
  }
});

test('an Ollama client\'s tools reach every upstream dialect as the same auto-mode answer as direct', async () => {
  const q = (model: string): Ask => ({ model, messages: [{ role: 'user', content: 'What is the weather in Paris?' }], maxTokens: 20, stream: false, tools });
  for (const [dialect, provider] of Object.entries(UPSTREAMS)) {
    assert.deepEqual(await ask('ollama', gw.base, q(`${provider}/${MODEL}`)), await ask(dialect as ClientDialect, up.base, q(MODEL)), provider);
  }
});

test('lmstudio and openai types pointed at the OpenAI dialect give the same text, and an alias its first route\'s', async () => {
  const viaOpenAI = await ask('openai', up.base, plain(MODEL, true));
  const viaAnthropic = await ask('anthropic', up.base, plain(MODEL, true));
  for (const client of CLIENT_DIALECTS) {
    for (const name of [`up-lmstudio/${MODEL}`, `up-openai/${MODEL}`]) assert.deepEqual(await ask(client, gw.base, plain(name, true)), viaOpenAI, `${client} ${name}`);
    // smart's first route is the Anthropic dialect
    assert.deepEqual(await ask(client, gw.base, plain('smart', true)), viaAnthropic, `${client} smart`);
  }
});

test('what an upstream lacks is a 400 naming it', async () => {
  const post = (path: string, body: unknown) => fetch(`${gw.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const msgs = [{ role: 'user', content: 'hi' }];
  const cases: [string, unknown, RegExp][] = [
    ['/v1/chat/completions', { model: `up-anthropic/${MODEL}`, messages: msgs, seed: 1 }, /seed/],
    ['/v1/chat/completions', { model: `up-openai/${MODEL}`, messages: msgs, top_k: 3 }, /top_k/],
    ['/v1/chat/completions', { model: `up-compat/${MODEL}`, messages: msgs, n: 2 }, /\bn\b/],
    ['/v1/chat/completions', { model: `up-anthropic/${MODEL}`, messages: msgs, response_format: { type: 'json_object' } }, /response_format/],
    ['/v1/completions', { model: `up-compat/${MODEL}`, prompt: 'hi' }, /chat/],
    ['/v1/embeddings', { model: `up-compat/${MODEL}`, input: 'hi' }, /embed/],
  ];
  for (const [path, body, re] of cases) {
    const r = await post(path, body);
    const text = await r.text();
    assert.equal(r.status, 400, `${path} ${JSON.stringify(body)}: ${text}`);
    assert.match(text, re);
  }
});

test('structured output reaches an OpenAI-dialect and an Ollama upstream as a schema', async () => {
  const schema = { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'], additionalProperties: false };
  for (const provider of [UPSTREAMS.openai, UPSTREAMS.ollama]) {
    const r = await fetch(`${gw.base}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: `${provider}/${MODEL}`, messages: [{ role: 'user', content: 'hi' }], max_tokens: 30, temperature: 0, response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } }),
    });
    const body = await r.json() as { choices: { message: { content: string } }[] };
    assert.equal(r.status, 200, JSON.stringify(body));
    assert.equal(typeof (JSON.parse(body.choices[0]!.message.content) as { a: unknown }).a, 'number', provider);
  }
});

test('model lists include upstream models and aliases; /health reports each provider; mcp_servers is read', async () => {
  const openai = await (await fetch(`${gw.base}/v1/models`)).json() as { data: { id: string; owned_by: string }[] };
  const ids = openai.data.map((m) => m.id);
  for (const id of [`up-compat/${MODEL}`, `up-ollama/${MODEL}:latest`, `up-anthropic/${MODEL}`, 'smart']) assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
  const tags = await (await fetch(`${gw.base}/api/tags`)).json() as { models: { name: string }[] };
  assert.ok(tags.models.some((m) => m.name === 'smart'));
  const anth = await (await fetch(`${gw.base}/v1/models`, { headers: { 'anthropic-version': '2023-06-01' } })).json() as { data: { id: string }[] };
  assert.ok(anth.data.some((m) => m.id === `up-anthropic/${MODEL}`));
  const health = await (await fetch(`${gw.base}/health`)).json() as { status: string; providers: { name: string; breaker: string }[] };
  assert.equal(health.status, 'ok');
  assert.deepEqual(health.providers.map((p) => [p.name, p.breaker]).sort(), ['up-anthropic', 'up-compat', 'up-lmstudio', 'up-ollama', 'up-openai'].map((n) => [n, 'closed']));
  assert.deepEqual([...gw.gateway.mcpServers.values()].map((s) => [s.name, s.transport]), [['files', 'stdio']]);
});

test('no request field reaches the upstream URL or headers', async () => {
  // a canary the request names in every place a URL or header could hide; the gateway must send nothing to it
  let hits = 0;
  const { createServer } = await import('node:http');
  const canary = createServer((_q, s) => { hits++; s.end('{}'); });
  await new Promise<void>((r) => canary.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(canary.address() as { port: number }).port}`;
  try {
    const bodies = [
      { model: `up-compat/${MODEL}`, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, base_url: url, api_base: url, extra_headers: { host: url }, headers: { 'x-api-key': 'x' } },
      { model: `${url}/v1`, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 },
      { model: `up-compat/${url}`, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 },
    ];
    for (const body of bodies) {
      await fetch(`${gw.base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-host': url, 'anthropic-beta': url }, body: JSON.stringify(body) });
    }
    assert.equal(hits, 0);
  } finally {
    await new Promise((r) => canary.close(r));
  }
});
