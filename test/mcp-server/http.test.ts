// /mcp on a live `hearth serve --auth`, driven by the MCP SDK's own Client over Streamable HTTP: the tools listed,
// generate, embed and knowledge_search answering exactly what /v1/chat/completions, /v1/embeddings and the vector
// store search answer, list_models; without a key /mcp is refused as every route is, a key without the scope or the
// model gets a tool error (403 in the audit), a bad argument is a tool error and the server goes on; rate limits,
// the Origin and Host checks and the usage audit apply per request.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { openStore } from '../../src/store/store.ts';
import { Database } from '../../src/store/database.ts';
import {
  CHAT_MESSAGES, CHAT_MODEL, EMBED_INPUT, EMBED_MODEL, makeHome, PASSAGE_FILE, PROMPT, QUERY, references, serve, textOf, vectorStore,
  type Home, type Served,
} from './harness.ts';

let home: Home;
let srv: Served;
const keys: Record<'full' | 'readOnly' | 'embedOnly' | 'limited', string> = { full: '', readOnly: '', embedOnly: '', limited: '' };
const keyIds: Record<string, string> = {};
let store: { id: string; name: string };
let ref: Awaited<ReturnType<typeof references>>;

before(async () => {
  home = makeHome('hearth-mcp-http-');
  const s = openStore(home.dbPath);
  try {
    for (const [name, o] of Object.entries({
      full: { scopes: ['inference', 'models:read'] },
      readOnly: { scopes: ['models:read'] },
      embedOnly: { scopes: ['inference'], models: [EMBED_MODEL] },
      limited: { scopes: ['inference'], rpm: 2 },
    })) {
      const { key, secret } = s.keys.create({ name, ...o });
      keys[name as keyof typeof keys] = secret;
      keyIds[name] = key.id;
    }
  } finally {
    s.close();
  }
  srv = await serve(home, ['--auth']);
  store = await vectorStore(srv.base, keys.full);
  ref = await references(srv.base, store.id, keys.full);
});

after(async () => {
  await srv?.stop();
});

async function connect(key: string | undefined): Promise<Client> {
  const client = new Client({ name: 'hearth-test', version: '1.0.0' });
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(`${srv.base}/mcp`), { requestInit: { headers } }));
  return client;
}

const post = (body: unknown, headers: Record<string, string> = {}) => fetch(`${srv.base}/mcp`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
  body: JSON.stringify(body),
});

/** A POST to /mcp naming another Host (fetch sends the URL's). */
function withHost(host: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const data = JSON.stringify(body);
  const url = new URL(srv.base);
  return new Promise((resolve, reject) => {
    const req = request({
      host: url.hostname, port: url.port, path: '/mcp', method: 'POST',
      headers: { ...headers, host, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'content-length': Buffer.byteLength(data) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } } };

test('the SDK client lists the tools and calls generate, embed, knowledge_search and list_models', async () => {
  const client = await connect(keys.full);
  try {
    assert.equal(client.getServerVersion()?.name, 'hearth');
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['analyze_image', 'embed', 'generate', 'knowledge_search', 'list_models']);
    const generate = tools.find((t) => t.name === 'generate')!;
    assert.deepEqual(Object.keys(generate.inputSchema.properties ?? {}).sort(), ['max_tokens', 'messages', 'model', 'prompt', 'stop', 'temperature']);

    // greedy: the same text as /v1/chat/completions for the same messages
    const chat = await client.callTool({ name: 'generate', arguments: { model: CHAT_MODEL, messages: CHAT_MESSAGES, max_tokens: 12, temperature: 0 } });
    assert.equal(chat.isError, undefined, textOf(chat));
    assert.ok(ref.chat.length > 0);
    assert.equal(textOf(chat), ref.chat);
    const sc = chat.structuredContent as { model: string; text: string; finish_reason: string; usage: { completion_tokens: number } };
    assert.equal(sc.text, ref.chat);
    assert.equal(sc.model, CHAT_MODEL);
    assert.equal(sc.usage.completion_tokens, 12);
    // a prompt is one user message; with one chat model served, model may be left out
    const prompt = await client.callTool({ name: 'generate', arguments: { prompt: PROMPT, max_tokens: 10, temperature: 0 } });
    assert.equal(textOf(prompt), ref.prompt);

    const embed = await client.callTool({ name: 'embed', arguments: { model: EMBED_MODEL, input: EMBED_INPUT } });
    assert.equal(embed.isError, undefined, textOf(embed));
    const vectors = (embed.structuredContent as { embeddings: number[][] }).embeddings;
    assert.equal(vectors.length, 2);
    assert.equal(vectors[0]!.length, 128);
    assert.deepEqual(vectors, ref.embeddings);

    const search = await client.callTool({ name: 'knowledge_search', arguments: { vector_store: store.name, query: QUERY, max_results: 3 } });
    assert.equal(search.isError, undefined, textOf(search));
    const hits = (search.structuredContent as { vector_store_id: string; results: { file_id: string; filename: string; score: number; text: string }[] });
    assert.equal(hits.vector_store_id, store.id);
    assert.equal(hits.results.length, 3);
    assert.deepEqual(hits.results.map(({ file_id, filename, score, text }) => ({ file_id, filename, score, text })), ref.search);
    assert.equal(hits.results[0]!.filename, PASSAGE_FILE);
    assert.ok(textOf(search).includes(ref.search[0]!.text));
    // by id too
    const byId = await client.callTool({ name: 'knowledge_search', arguments: { vector_store: store.id, query: QUERY, max_results: 3 } });
    assert.deepEqual(byId.structuredContent, search.structuredContent);

    const list = await client.callTool({ name: 'list_models', arguments: {} });
    const listed = (list.structuredContent as { models: { id: string; capabilities: string[]; loaded: boolean }[] }).models;
    assert.deepEqual(listed.map((m) => m.id).sort(), [EMBED_MODEL, CHAT_MODEL].sort());
    assert.ok(listed.find((m) => m.id === EMBED_MODEL)!.capabilities.includes('embedding'));
    assert.ok(listed.every((m) => m.loaded));
  } finally {
    await client.close();
  }
});

test('bad arguments and impossible asks are tool errors, and the server answers the next call', async () => {
  const client = await connect(keys.full);
  try {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ prompt: PROMPT, max_tokens: -1 }, 'generate', /max_tokens/],
      [{ prompt: 42 }, 'generate', /prompt/],
      [{ prompt: PROMPT, messages: CHAT_MESSAGES }, 'generate', /either "prompt" or "messages"/],
      [{ model: 'no-such-model', prompt: PROMPT }, 'generate', /model "no-such-model" is not served here/],
      [{ model: EMBED_MODEL, input: 'x', dimensions: 1000 }, 'embed', /dimensions must be an integer from 1 to 128/],
      [{ model: EMBED_MODEL, prompt: PROMPT }, 'generate', /cannot chat|cannot generate/],
      [{ query: QUERY, vector_store: 'nope' }, 'knowledge_search', /no vector store "nope": there are "novel"/],
      [{ image: 'iVBORw0KGgo=' }, 'analyze_image', /no model that reads images is loaded/],
      [{ model: CHAT_MODEL, image: 'iVBORw0KGgo=' }, 'analyze_image', /cannot read images/],
    ];
    for (const [args, name, message] of cases) {
      const r = await client.callTool({ name, arguments: args });
      assert.equal(r.isError, true, `${name} ${JSON.stringify(args)}`);
      assert.match(textOf(r), message);
    }
    const unknown = await client.callTool({ name: 'rm_rf', arguments: {} });
    assert.equal(unknown.isError, true);
    assert.match(textOf(unknown), /rm_rf not found/);
    const ok = await client.callTool({ name: 'generate', arguments: { prompt: PROMPT, max_tokens: 10, temperature: 0 } });
    assert.equal(textOf(ok), ref.prompt);
  } finally {
    await client.close();
  }
});

test('without a key /mcp is refused as every other route is', async () => {
  const mcp = await post(INITIALIZE);
  const other = await fetch(`${srv.base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(mcp.status, 401);
  assert.equal(other.status, 401);
  assert.equal(mcp.headers.get('www-authenticate'), 'Bearer realm="hearth"');
  const [a, b] = [await mcp.json(), await other.json()];
  assert.deepEqual(a, b);
  assert.equal((await post(INITIALIZE, { authorization: 'Bearer hth_not-a-key' })).status, 401);
  await assert.rejects(connect(undefined), /401|Unauthorized/i);
});

test('a key without the scope or the model gets a tool error; the audit records each tool call', async () => {
  const readOnly = await connect(keys.readOnly);
  try {
    // models:read lists models but may not generate
    const list = await readOnly.callTool({ name: 'list_models', arguments: {} });
    assert.equal(list.isError, undefined);
    const gen = await readOnly.callTool({ name: 'generate', arguments: { prompt: PROMPT, max_tokens: 2 } });
    assert.equal(gen.isError, true);
    assert.match(textOf(gen), /lacks the "inference" scope/);
    assert.deepEqual(gen._meta?.['hearth/error'], { code: 'forbidden', status: 403 });
    const search = await readOnly.callTool({ name: 'knowledge_search', arguments: { query: QUERY } });
    assert.match(textOf(search), /lacks the "inference" scope/);
  } finally {
    await readOnly.close();
  }
  const embedOnly = await connect(keys.embedOnly);
  try {
    const gen = await embedOnly.callTool({ name: 'generate', arguments: { model: CHAT_MODEL, prompt: PROMPT, max_tokens: 2 } });
    assert.match(textOf(gen), /may not use model "stories260K" \(allowed: embed-tiny\)/);
    const embed = await embedOnly.callTool({ name: 'embed', arguments: { model: EMBED_MODEL, input: EMBED_INPUT[0] } });
    assert.deepEqual((embed.structuredContent as { embeddings: number[][] }).embeddings, [ref.embeddings[0]]);
    // list_models needs models:read, which this key lacks
    assert.match(textOf(await embedOnly.callTool({ name: 'list_models', arguments: {} })), /lacks the "models:read" scope/);
  } finally {
    await embedOnly.close();
  }

  // Each request is one usage row; a tool call's row names the tool, its model and tokens, and its outcome.
  const db = Database.open(home.dbPath);
  try {
    type Row = { key_id: string; route: string; model: string | null; status: number; prompt_tokens: number | null; completion_tokens: number | null };
    let rows: Row[] = [];
    for (let i = 0; i < 100; i++) {
      rows = db.db.prepare("SELECT key_id, route, model, status, prompt_tokens, completion_tokens FROM usage WHERE route LIKE '/mcp%' ORDER BY id").all() as unknown as Row[];
      if (rows.some((r) => r.key_id === keyIds.embedOnly && r.route === '/mcp tools/call list_models')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const full = rows.filter((r) => r.key_id === keyIds.full && r.route === '/mcp tools/call generate' && r.status === 200);
    assert.ok(full.length >= 2, JSON.stringify(rows));
    assert.ok(full.every((r) => r.model === CHAT_MODEL && r.completion_tokens! > 0 && r.prompt_tokens! > 0));
    const embeds = rows.filter((r) => r.key_id === keyIds.full && r.route === '/mcp tools/call embed' && r.status === 200);
    assert.ok(embeds.some((r) => r.model === EMBED_MODEL && r.prompt_tokens! > 0));
    const denied = rows.filter((r) => r.key_id === keyIds.readOnly && r.route === '/mcp tools/call generate');
    assert.deepEqual(denied.map((r) => r.status), [403]);
    assert.deepEqual(rows.filter((r) => r.key_id === keyIds.embedOnly && r.route === '/mcp tools/call generate').map((r) => [r.status, r.model]), [[403, CHAT_MODEL]]);
    // refused by the schema: a 400 under the tool's name
    assert.ok(rows.some((r) => r.key_id === keyIds.full && r.route === '/mcp tools/call generate' && r.status === 400));
    // a name that is no tool is not copied into the audit
    assert.ok(rows.some((r) => r.key_id === keyIds.full && r.route === '/mcp tools/call ?' && r.status === 400));
    assert.ok(!rows.some((r) => r.route.includes('rm_rf')));
    // the protocol's own requests are rows of /mcp
    assert.ok(rows.some((r) => r.key_id === keyIds.full && r.route === '/mcp' && r.status === 200));
  } finally {
    db.close();
  }
});

test('rate limits, the Origin and Host checks, batches and the stateless transport', async () => {
  const auth = { authorization: `Bearer ${keys.full}` };
  // the per-key limits count /mcp requests: rpm 2, the third is 429
  const limited = { authorization: `Bearer ${keys.limited}` };
  assert.equal((await post(INITIALIZE, limited)).status, 200);
  assert.equal((await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, limited)).status, 200);
  const third = await post({ jsonrpc: '2.0', id: 3, method: 'tools/list' }, limited);
  assert.equal(third.status, 429);
  assert.ok(Number(third.headers.get('retry-after')) > 0);

  // a foreign web page may not call it (a browser sends its Origin); nor may a rebound DNS name (Host)
  const foreign = await post(INITIALIZE, { ...auth, origin: 'https://evil.example' });
  const foreignOther = await fetch(`${srv.base}/v1/models`, { headers: { ...auth, origin: 'https://evil.example' } });
  assert.equal(foreign.status, 403);
  assert.equal(foreignOther.status, 403);
  const rebound = await withHost('attacker.example', INITIALIZE, auth);
  assert.equal(rebound.status, 403);
  assert.match(rebound.text, /is not a name of this machine/);
  assert.equal((await post(INITIALIZE, { ...auth, origin: 'http://localhost:3000' })).status, 200);

  // stateless: no session id, no server-sent stream, no batches
  const init = await post(INITIALIZE, auth);
  assert.equal(init.headers.get('mcp-session-id'), null);
  assert.equal(((await init.json()) as { result: { serverInfo: { name: string } } }).result.serverInfo.name, 'hearth');
  const sse = await fetch(`${srv.base}/mcp`, { headers: { ...auth, accept: 'text/event-stream' } });
  assert.equal(sse.status, 405);
  assert.equal(sse.headers.get('allow'), 'POST');
  const batch = await post([{ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { jsonrpc: '2.0', id: 2, method: 'tools/list' }], auth);
  assert.equal(batch.status, 400);
  assert.match(await batch.text(), /one JSON-RPC message per request/);
  // not JSON-RPC, or a method it lacks: JSON-RPC errors, in their shape
  const garbage = await post({ hello: 'world' }, auth);
  assert.equal(garbage.status, 400);
  assert.equal(((await garbage.json()) as { error: { code: number } }).error.code, -32700);
  const nope = await post({ jsonrpc: '2.0', id: 5, method: 'resources/write' }, auth);
  assert.equal(((await nope.json()) as { error: { code: number } }).error.code, -32601);
  const notJson = await fetch(`${srv.base}/mcp`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain', accept: 'application/json, text/event-stream' }, body: '{}' });
  assert.equal(notJson.status, 415);
  // still serving
  const client = await connect(keys.full);
  assert.equal(textOf(await client.callTool({ name: 'generate', arguments: { prompt: PROMPT, max_tokens: 10, temperature: 0 } })), ref.prompt);
  await client.close();
});

test('a client that leaves mid-call stops its generation: the model is free at once, the audit row is a 499 of the tool', async () => {
  const auth = { authorization: `Bearer ${keys.full}` };
  const leases = async () => {
    const ps = (await (await fetch(`${srv.base}/api/ps`, { headers: auth })).json()) as { models: { name: string; requests: number }[] };
    return ps.models.find((m) => m.name.startsWith(CHAT_MODEL))!.requests;
  };
  const ac = new AbortController();
  // ~1900 tokens take stories260K seconds here; the client leaves after 300 ms
  const res = fetch(`${srv.base}/mcp`, {
    method: 'POST', signal: ac.signal,
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...auth, 'x-request-id': 'mcp-left' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 10, method: 'tools/call', params: { name: 'generate', arguments: { prompt: PROMPT, max_tokens: 1900, temperature: 0.8 } } }),
  }).then(() => 'answered', (e: Error) => e.name);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(await leases(), 1);
  await new Promise((r) => setTimeout(r, 300));
  ac.abort();
  assert.equal(await res, 'AbortError');
  const t0 = Date.now();
  while ((await leases()) !== 0) {
    assert.ok(Date.now() - t0 < 1500, 'the left call still holds the model');
    await new Promise((r) => setTimeout(r, 20));
  }
  const db = Database.open(home.dbPath);
  try {
    let row: { route: string; status: number } | undefined;
    for (let i = 0; i < 100 && !row; i++) {
      row = db.db.prepare("SELECT route, status FROM usage WHERE request_id = 'mcp-left'").get() as typeof row;
      if (!row) await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual({ ...row }, { route: '/mcp tools/call generate', status: 499 });
  } finally {
    db.close();
  }
});
