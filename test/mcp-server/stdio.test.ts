// `hearth mcp` as an MCP host runs it: the SDK's StdioClientTransport spawns it over stories260K and a synthetic
// embedding model, on a database whose vector store was made through the HTTP API of a `hearth serve`; the tools'
// answers equal that server's /v1/chat/completions, /v1/embeddings and vector store search. stdout carries nothing
// but the protocol (the logs are on stderr), a bad argument is a tool error, and closing stdin ends the process.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CHAT_MESSAGES, CHAT_MODEL, EMBED_INPUT, EMBED_MODEL, HEARTH, makeHome, PROMPT, QUERY, references, serve, textOf, vectorStore,
  type Home, type Served,
} from './harness.ts';

let home: Home;
let store: { id: string; name: string };
let ref: Awaited<ReturnType<typeof references>>;

let srv: Served;
let config: string;

before(async () => {
  home = makeHome('hearth-mcp-stdio-');
  srv = await serve(home);
  store = await vectorStore(srv.base);
  ref = await references(srv.base, store.id);
  // the same server as an upstream provider of hearth mcp's gateway, and an alias routed to it
  config = join(home.dir, 'gateway.yaml');
  writeFileSync(config, `providers:\n  up: { type: hearth, base_url: "${srv.base}" }\nmodels:\n  tale: { route: [up/${CHAT_MODEL}] }\n`);
});

function spawnMcp(args: string[] = [...home.models, '--config', config]): { client: Client; transport: StdioClientTransport; stderr: () => string } {
  const transport = new StdioClientTransport({ command: process.execPath, args: [HEARTH, 'mcp', ...args], env: home.env, stderr: 'pipe' });
  let stderr = '';
  transport.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return { client: new Client({ name: 'hearth-test', version: '1.0.0' }), transport, stderr: () => stderr };
}

let open: StdioClientTransport | undefined;
after(async () => {
  await open?.close();
  await srv?.stop();
});

test('hearth mcp over stdio: tools listed, generate, embed, knowledge_search and list_models answer as the HTTP API', async () => {
  const { client, transport, stderr } = spawnMcp();
  open = transport;
  // the host may connect while the models load: a call waits for its model
  await client.connect(transport);
  assert.equal(client.getServerVersion()?.name, 'hearth');
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ['analyze_image', 'embed', 'generate', 'knowledge_search', 'list_models']);

  const chat = await client.callTool({ name: 'generate', arguments: { model: CHAT_MODEL, messages: CHAT_MESSAGES, max_tokens: 12, temperature: 0 } });
  assert.equal(chat.isError, undefined, textOf(chat));
  assert.equal(textOf(chat), ref.chat);
  const prompt = await client.callTool({ name: 'generate', arguments: { model: CHAT_MODEL, prompt: PROMPT, max_tokens: 10, temperature: 0 } });
  assert.equal(textOf(prompt), ref.prompt);
  // any served name: an upstream provider's model and an alias of the gateway give the same text
  for (const model of [`up/${CHAT_MODEL}`, 'tale']) {
    const upstream = await client.callTool({ name: 'generate', arguments: { model, messages: CHAT_MESSAGES, max_tokens: 12, temperature: 0 } });
    assert.equal(upstream.isError, undefined, textOf(upstream));
    assert.equal(textOf(upstream), ref.chat, model);
  }

  const embed = await client.callTool({ name: 'embed', arguments: { model: EMBED_MODEL, input: EMBED_INPUT } });
  assert.deepEqual((embed.structuredContent as { embeddings: number[][] }).embeddings, ref.embeddings);
  // the embedding model is loaded now: the default
  const byDefault = await client.callTool({ name: 'embed', arguments: { input: EMBED_INPUT[1] } });
  assert.deepEqual((byDefault.structuredContent as { embeddings: number[][] }).embeddings, [ref.embeddings[1]]);

  // the only vector store is the default
  const search = await client.callTool({ name: 'knowledge_search', arguments: { query: QUERY, max_results: 3 } });
  assert.equal(search.isError, undefined, textOf(search));
  const hits = search.structuredContent as { vector_store_id: string; results: { file_id: string; filename: string; score: number; text: string }[] };
  assert.equal(hits.vector_store_id, store.id);
  assert.deepEqual(hits.results.map(({ file_id, filename, score, text }) => ({ file_id, filename, score, text })), ref.search);

  const list = await client.callTool({ name: 'list_models', arguments: {} });
  const ids = (list.structuredContent as { models: { id: string }[] }).models.map((m) => m.id);
  for (const id of [EMBED_MODEL, CHAT_MODEL, 'tale', `up/${CHAT_MODEL}`, `up/${EMBED_MODEL}`]) assert.ok(ids.includes(id), `${id} in ${ids}`);

  // a bad argument is a tool error and the server goes on
  const bad = await client.callTool({ name: 'generate', arguments: { prompt: PROMPT, temperature: 'hot' } });
  assert.equal(bad.isError, true);
  assert.match(textOf(bad), /temperature/);
  const image = await client.callTool({ name: 'analyze_image', arguments: { image: 'not base64 !' } });
  assert.equal(image.isError, true);
  // the gateway's upstream models count as able to read images (the upstream decides), so the image itself is refused
  assert.match(textOf(image), /is not base64/);
  assert.equal(textOf(await client.callTool({ name: 'generate', arguments: { model: CHAT_MODEL, prompt: PROMPT, max_tokens: 10, temperature: 0 } })), ref.prompt);

  // the logs went to stderr (stdout carried only JSON-RPC, or the client would have failed to parse it)
  assert.match(stderr(), /hearth mcp: serving embed-tiny, stories260K, tale over stdio/);
  assert.match(stderr(), /model ready: stories260K/);

  // closing stdin ends it, with status 0
  const child = (transport as unknown as { _process: import('node:child_process').ChildProcess })._process;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.stdin!.end();
  assert.equal(await exited, 0);
  open = undefined;
});

test('hearth mcp: a model that fails to load ends it with its reason; list lists the configured servers; --help', async () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [HEARTH, 'mcp', ...args], { env: home.env, encoding: 'utf8', timeout: 60_000, input: '' });
  const missing = run('/nonexistent/model.gguf');
  assert.equal(missing.status, 1);
  assert.equal(missing.stdout, '');
  assert.match(missing.stderr, /nonexistent\/model\.gguf/);

  const help = run('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: hearth mcp \[serve\]/);
  assert.match(help.stdout, /--mmproj FILE/);

  // no config file in this home: nothing configured, and saying so is a success
  const list = run('list');
  assert.equal(list.status, 0, list.stderr);
  assert.equal(list.stdout, 'no MCP servers are configured (mcp_servers: in the config file)\n');
});
