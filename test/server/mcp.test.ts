// MCP tools end to end, against real MCP servers built with the official SDK (test/fixtures/mcp/server.mts): one
// on stdio in Hearth's sandbox, one over Streamable HTTP. A chat whose model (stories260K under Qwen3's template)
// is forced to call a tool gets the tool's real result (a nonce only the server knows) folded into the follow-up
// turn, in every dialect, streamed; a server that crashes, hangs or floods ends the request with a clear error and
// is started afresh; the sandbox stops network and writes outside the workspace; a key without the server's scope
// gets 403; no request field adds or changes a server.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { sharedPath, REPO_ROOT } from '../shared.ts';
import { startServer, chatTemplateModelPath, until, type TestServer } from './harness.ts';
import { tempDir } from '../security/harness.ts';
import { buildServer } from '../fixtures/mcp/server.mts';
import { openStore, type Store } from '../../src/store/store.ts';
import { InProcessRateLimiter } from '../../src/server/middleware/rate-limit.ts';
import { parseGatewayConfig } from '../../src/provider/gateway/config.ts';
import { McpHub } from '../../src/provider/mcp/hub.ts';
import { openSandbox } from '../../src/sandbox/open.ts';
import { formatMcpList, mcpList } from '../../src/cli/commands/mcp-list.ts';
import { writeFileSync } from 'node:fs';
import type { NativeRequest } from '../../src/api/native.ts';
import type { LocalProvider } from '../../src/provider/local-provider.ts';

const QWEN3_TEMPLATE = (JSON.parse(readFileSync(sharedPath('tokenizers', 'qwen3', 'tokenizer_config.json'), 'utf8')) as { chat_template: string }).chat_template;
const MODEL = 'toolish';
const NONCE = randomUUID().slice(0, 8);
const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'mcp');

let srv: TestServer;
let web: Server;
let store: Store;
let hub: McpHub;
let key: string;
let workspace: string;
let outside: string;
let dir: string;
/** A stdio entry for the fixture server, with `extra` lines. */
let stdio: (extra: string) => string;
/** Every native request the model was given, in order (the provider is real; this only watches its input). */
const seen: NativeRequest[] = [];

function folder(parent: string, name: string): string {
  const d = join(parent, name);
  mkdirSync(d);
  chmodSync(d, 0o711);
  return d;
}

before(async () => {
  // The Streamable HTTP server: a fresh SDK server and transport per request (stateless).
  web = createHttpServer(async (req, res) => {
    const server = buildServer(NONCE, () => req.socket.destroy());
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void transport.close().then(() => server.close()));
    let body = '';
    for await (const chunk of req) body += chunk;
    await server.connect(transport);
    await transport.handleRequest(req, res, body ? JSON.parse(body) : undefined);
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  dir = tempDir('hearth-mcp-');
  chmodSync(dir, 0o711);
  workspace = folder(dir, 'ws');
  outside = folder(dir, 'outside');
  stdio = (extra: string) => `
    command: node
    args: [${join(FIXTURE, 'server.mts')}, stdio]
    env: { MCP_NONCE: \${MCP_NONCE} }
    workspace: ${workspace}
    read_only: [${FIXTURE}, ${join(REPO_ROOT, 'node_modules')}]${extra}`;
  const config = parseGatewayConfig(`mcp_servers:
  main:${stdio('')}
  bad:${stdio('\n    call_timeout: 2s\n    max_output: 100000')}
  net:${stdio('\n    network: true')}
  web:
    url: http://127.0.0.1:${(web.address() as AddressInfo).port}/mcp
    headers: { X-Test-Token: "\${MCP_NONCE}" }
  webbad:
    url: http://127.0.0.1:${(web.address() as AddressInfo).port}/mcp
    call_timeout: 2s
    max_output: 100000
`, 'mcp.yaml', { env: { MCP_NONCE: NONCE }, secret: () => undefined });
  hub = new McpHub(config.mcpServers, () => openSandbox());
  store = openStore(join(dir, 'hearth.db'));
  key = store.keys.create({ name: 'all', scopes: ['inference', 'mcp:*'] }).secret;
  srv = await startServer({
    path: chatTemplateModelPath(QWEN3_TEMPLATE), alias: MODEL, parallel: 2, nCtx: 2048,
    app: { mcp: hub, security: { keys: store.keys, usage: store.usage, limiter: new InProcessRateLimiter({ windowMs: 60_000 }) } },
  });
  const provider = srv.host.ready() as LocalProvider;
  const generate = provider.generate.bind(provider);
  provider.generate = (req, signal) => {
    seen.push(structuredClone(req));
    return generate(req, signal);
  };
});
after(async () => {
  await srv?.close();
  await new Promise((r) => web?.close(r));
  store?.close();
});

const headers = (k = key) => ({ 'content-type': 'application/json', authorization: `Bearer ${k}` });
const post = (path: string, body: unknown, k = key) => fetch(`${srv.base}${path}`, { method: 'POST', headers: headers(k), body: JSON.stringify(body) });
const input = 'Look up the key for Paris.';

/** The follow-up turn's conversation: the tool message answering the call, as the model was given it. */
function toolMessageAfter(from: number): { content: string; name?: string } {
  const later = seen.slice(from).flatMap((r) => (r.prompts[0]?.kind === 'chat' ? r.prompts[0].messages : []));
  const tool = later.find((m) => m.role === 'tool');
  assert.ok(tool, 'no tool message was fed back to the model');
  return tool;
}

const mcpRows = () => store.database.db.prepare("SELECT route, status FROM usage WHERE method = 'MCP' ORDER BY id").all() as { route: string; status: number }[];

test('tool discovery: both servers list their tools (hearth mcp list), the HTTP one answers with the nonce', async () => {
  const listing = await hub.list();
  const names = Object.fromEntries(listing.map((s) => [s.name, s.tools?.map((t) => t.name)]));
  for (const s of ['main', 'web']) assert.deepEqual(names[s]?.slice(0, 2), ['lookup', 'crash'], JSON.stringify(listing));
  assert.match(formatMcpList(listing), /^main {2}stdio {2}node .*server\.mts stdio {2}network: no/m);
  assert.match(formatMcpList(listing), /^ {2}lookup {2}Look a key up$/m);
  assert.equal((await hub.server('web', 'x').call('lookup', { key: 'k1' })).text, `value:k1:${NONCE}`);
});

test('a tool added later is seen: notifications/tools/list_changed refreshes the cached list', async () => {
  const main = hub.server('main', 'x');
  assert.ok(!(await main.tools()).some((t) => t.name === 'late'));
  assert.equal((await main.call('add_tool', {})).text, 'added');
  let tools = await main.tools();
  for (let i = 0; i < 50 && !tools.some((t) => t.name === 'late'); i++) {
    await new Promise((r) => setTimeout(r, 20));
    tools = await main.tools();
  }
  assert.ok(tools.some((t) => t.name === 'late'), tools.map((t) => t.name).join(','));
  assert.equal((await main.call('late', {})).text, `late:${NONCE}`);
});

test('responses: a forced call of an mcp tool; its real result is in the mcp_call item and fed back to the model', async () => {
  const from = seen.length;
  const r = await post('/v1/responses', {
    model: MODEL, input, max_output_tokens: 120, temperature: 0.8, seed: 3, parallel_tool_calls: false, tool_choice: 'required',
    tools: [{ type: 'mcp', server_label: 'main', allowed_tools: ['lookup'], require_approval: 'never' }],
  });
  const body = await r.json() as { status: string; output: { type: string; name?: string; arguments?: string; output?: string; tools?: unknown[]; server_label?: string }[] };
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.deepEqual(body.output.slice(0, 2).map((i) => i.type), ['mcp_list_tools', 'mcp_call']);
  const call = body.output[1]!;
  assert.equal(call.server_label, 'main');
  assert.equal(call.name, 'lookup');
  const { key: asked } = JSON.parse(call.arguments!) as { key: string };
  assert.equal(call.output, `value:${asked}:${NONCE}`);
  assert.equal(toolMessageAfter(from).content, call.output);
  assert.equal(body.output.at(-1)!.type, 'message');
  assert.ok(seen.length - from >= 2, 'the model was asked again after the call');
  // a stored response with an mcp_call continues: the call and its result are the conversation's history
  const next = seen.length;
  const again = await post('/v1/responses', { model: MODEL, input: 'And Rome?', max_output_tokens: 4, previous_response_id: (body as unknown as { id: string }).id });
  assert.equal(again.status, 200, await again.clone().text());
  assert.equal(toolMessageAfter(next).content, call.output);
  await until(() => mcpRows().some((row) => row.route === 'mcp:main/lookup' && row.status === 200), 2000);
});

test('responses, streamed through the OpenAI SDK: mcp_call events as OpenAI names them, then the answer', async () => {
  const openai = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: key, maxRetries: 0 });
  const from = seen.length;
  const stream = await openai.responses.create({
    model: MODEL, input, max_output_tokens: 120, temperature: 0.8, seed: 4, parallel_tool_calls: false, tool_choice: 'required', stream: true,
    tools: [{ type: 'mcp', server_label: 'web', allowed_tools: ['lookup'], require_approval: 'never' }],
  } as OpenAI.Responses.ResponseCreateParamsStreaming);
  const types: string[] = [];
  let item: { type: string; output?: string | null; arguments?: string } | undefined;
  for await (const ev of stream) {
    types.push(ev.type);
    if (ev.type === 'response.output_item.done' && ev.item.type === 'mcp_call') item = ev.item;
  }
  for (const t of ['response.mcp_list_tools.completed', 'response.mcp_call.in_progress', 'response.mcp_call_arguments.done', 'response.mcp_call.completed', 'response.output_text.done']) {
    assert.ok(types.includes(t), `${t} in ${types.join(' ')}`);
  }
  // the answer after the call (max_output_tokens may cut it: incomplete)
  assert.ok(types.indexOf('response.mcp_call.completed') < types.indexOf('response.output_text.delta'));
  assert.match(types.at(-1)!, /^response\.(completed|incomplete)$/);
  const { key: asked } = JSON.parse(item!.arguments!) as { key: string };
  assert.equal(item!.output, `value:${asked}:${NONCE}`);
  assert.equal(toolMessageAfter(from).content, item!.output);
});

test('chat completions (hearth_mcp), streamed through the OpenAI SDK: the result goes to the model, the answer streams', async () => {
  const openai = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: key, maxRetries: 0 });
  const from = seen.length;
  const stream = await openai.chat.completions.create({
    model: MODEL, messages: [{ role: 'user', content: input }], max_tokens: 120, temperature: 0.8, seed: 5, stream: true,
    tool_choice: 'required', parallel_tool_calls: false, hearth_mcp: [{ server_label: 'main', allowed_tools: ['lookup'] }],
  } as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
  let finish: string | null = null;
  let calls = 0;
  for await (const chunk of stream) {
    finish = chunk.choices[0]?.finish_reason ?? finish;
    calls += chunk.choices[0]?.delta.tool_calls?.length ?? 0;
  }
  assert.equal(calls, 0, 'the MCP call is Hearth\'s, not the client\'s');
  assert.ok(finish === 'stop' || finish === 'length', String(finish));
  const tool = toolMessageAfter(from);
  assert.match(tool.content, new RegExp(`^value:.{0,8}:${NONCE}$`));
});

test('anthropic /v1/messages (hearth_mcp), streamed through the Anthropic SDK', async () => {
  const anthropic = new Anthropic({ baseURL: srv.base, apiKey: key, maxRetries: 0 });
  const from = seen.length;
  const stream = anthropic.messages.stream({
    model: MODEL, max_tokens: 120, messages: [{ role: 'user', content: input }], temperature: 0.8,
    tool_choice: { type: 'any', disable_parallel_tool_use: true }, hearth_mcp: [{ server_label: 'main', allowed_tools: ['lookup'] }],
  } as Anthropic.MessageStreamParams);
  const message = await stream.finalMessage();
  assert.ok(message.content.every((b) => b.type !== 'tool_use'), JSON.stringify(message.content));
  assert.match(toolMessageAfter(from).content, new RegExp(`^value:.{0,8}:${NONCE}$`));
  assert.ok(message.usage.input_tokens > 0);
});

test('ollama /api/chat (hearth_mcp, tool_choice required), streamed through ollama-js', async () => {
  const ollama = new Ollama({ host: srv.base, headers: { authorization: `Bearer ${key}` } });
  const from = seen.length;
  const stream = await ollama.chat({
    model: MODEL, messages: [{ role: 'user', content: input }], stream: true, options: { num_predict: 120, temperature: 0.8, seed: 6 },
    ...{ hearth_mcp: [{ server_label: 'web', allowed_tools: ['lookup'] }], tool_choice: 'required' },
  } as Parameters<Ollama['chat']>[0] & { stream: true });
  let done = false;
  for await (const part of stream) {
    assert.equal(part.message.tool_calls, undefined);
    done ||= part.done;
  }
  assert.ok(done);
  assert.match(toolMessageAfter(from).content, new RegExp(`^value:.{0,8}:${NONCE}$`));
  await until(() => mcpRows().some((row) => row.route === 'mcp:web/lookup'), 2000);
});

const forced = (tool: string, extra: Record<string, unknown> = {}) => post('/v1/responses', {
  model: MODEL, input, max_output_tokens: 120, temperature: 0, parallel_tool_calls: false, tool_choice: 'required',
  tools: [{ type: 'mcp', server_label: 'bad', allowed_tools: [tool], require_approval: 'never' }], ...extra,
});

test('a server that crashes, hangs or floods is contained: a clear tool_error, and the server starts afresh', { timeout: 60_000 }, async () => {
  const bad = hub.server('bad', 'x');
  const cases: [string, RegExp][] = [
    ['crash', /MCP server "bad": tool "crash" crashed or closed the connection/],
    ['hang', /MCP server "bad": tool "hang" did not answer within its call timeout \(2000 ms\)/],
    ['flood', /MCP server "bad": tool "flood" .*more than 165536 bytes \(max_output\)/],
  ];
  for (const [tool, re] of cases) {
    const starts = bad.starts;
    const t0 = performance.now();
    const r = await forced(tool);
    const body = await r.json() as { error: { code: string; message: string } };
    assert.equal(r.status, 502, `${tool}: ${JSON.stringify(body)}`);
    assert.equal(body.error.code, 'tool_error');
    assert.match(body.error.message, re);
    assert.ok(performance.now() - t0 < 15_000, `${tool} took ${performance.now() - t0} ms`);
    // the next call starts the server again and is answered
    assert.equal((await bad.call('lookup', { key: 'again' })).text, `value:again:${NONCE}`);
    assert.ok(bad.starts > starts, `${tool}: restarted`);
  }
  // streamed: the error event, then response.failed with the failed mcp_call
  const r = await forced('crash', { stream: true });
  const text = await r.text();
  assert.match(text, /event: response\.mcp_call\.failed/);
  assert.match(text, /event: error\ndata: .*crashed or closed the connection/);
  assert.match(text, /event: response\.failed/);
  assert.ok(mcpRows().some((row) => row.route === 'mcp:bad/hang' && row.status === 502));
});

test('a Streamable HTTP server that floods, breaks the connection or hangs is contained too', { timeout: 30_000 }, async () => {
  const r = await post('/v1/responses', {
    model: MODEL, input, max_output_tokens: 120, temperature: 0, parallel_tool_calls: false, tool_choice: 'required',
    tools: [{ type: 'mcp', server_label: 'webbad', allowed_tools: ['flood'], require_approval: 'never' }],
  });
  assert.equal(r.status, 502);
  assert.match(await r.text(), /MCP server \\"webbad\\": tool \\"flood\\" was stopped: it sent an answer of more than 165536 bytes \(max_output\)/);
  const webbad = hub.server('webbad', 'x');
  await assert.rejects(webbad.call('crash', {}), /tool "crash" failed: the server could not be reached or broke the connection/);
  const t0 = performance.now();
  await assert.rejects(webbad.call('hang', {}), /tool "hang" did not answer within its call timeout \(2000 ms\)/);
  assert.ok(performance.now() - t0 < 5000);
  assert.equal((await webbad.call('lookup', { key: 'fine' })).text, `value:fine:${NONCE}`);
});

test('the sandbox: no network unless the entry allows it; nothing writable outside the workspace', async () => {
  const got: string[] = [];
  const tcp = createTcpServer((s) => s.on('data', (b) => got.push(b.toString())));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const port = (tcp.address() as AddressInfo).port;
  try {
    assert.equal((await hub.server('main', 'x').call('reach', { port })).text, 'blocked: EAFNOSUPPORT');
    assert.equal((await hub.server('main', 'x').call('reach', { port: 443, host: '1.1.1.1' })).text, 'blocked: EAFNOSUPPORT');
    assert.deepEqual(got, []);
    // the entry with network: true reaches the same listener
    assert.equal((await hub.server('net', 'x').call('reach', { port })).text, 'connected');
    await until(() => got.join('').includes('hello from the sandbox'), 2000);
  } finally {
    tcp.close();
  }
  const main = hub.server('main', 'x');
  for (const path of [join(outside, 'escape.txt'), join(FIXTURE, 'escape.txt'), '/etc/escape.txt', '/workspace/../escape.txt']) {
    assert.match((await main.call('write', { path })).text, /^refused: (ENOENT|EROFS|EACCES)$/, path);
  }
  assert.ok(!existsSync(join(outside, 'escape.txt')) && !existsSync(join(FIXTURE, 'escape.txt')));
  assert.equal((await main.call('write', { path: '/workspace/ok.txt' })).text, 'wrote');
  assert.equal(readFileSync(join(workspace, 'ok.txt'), 'utf8'), `written ${NONCE}`);
});

test('a key may use only the servers its scopes name: 403 for another, in every dialect', async () => {
  const webOnly = store.keys.create({ name: 'web-only', scopes: ['inference', 'mcp:web'] }).secret;
  const none = store.keys.create({ name: 'no-mcp', scopes: ['inference'] }).secret;
  const bodies: [string, (label: string) => unknown][] = [
    ['/v1/responses', (l) => ({ model: MODEL, input, max_output_tokens: 4, tools: [{ type: 'mcp', server_label: l, require_approval: 'never' }] })],
    ['/v1/chat/completions', (l) => ({ model: MODEL, messages: [{ role: 'user', content: input }], max_tokens: 4, hearth_mcp: [l] })],
    ['/api/chat', (l) => ({ model: MODEL, messages: [{ role: 'user', content: input }], stream: false, options: { num_predict: 4 }, hearth_mcp: [l] })],
    ['/v1/messages', (l) => ({ model: MODEL, max_tokens: 4, messages: [{ role: 'user', content: input }], hearth_mcp: [{ server_label: l }] })],
  ];
  for (const [path, body] of bodies) {
    for (const k of [webOnly, none]) {
      const r = await post(path, body('main'), k);
      assert.equal(r.status, 403, path);
      assert.match(await r.text(), /may not use the MCP server \\?"main\\?" \(it needs the scope mcp:main or mcp:\*\)/);
    }
    // a label that is not configured is a 403 too for a key that may not use it: nothing is learnt of the file
    assert.equal((await post(path, body('secret-server'), webOnly)).status, 403, path);
    assert.equal((await post(path, body('web'), webOnly)).status, 200, path);
  }
  assert.throws(() => store.keys.create({ name: 'x', scopes: ['mcp:bad/label'] }), /unknown scope/);
});

test('no request field adds or changes a server: server_url, commands and unknown labels are refused', async () => {
  const before = JSON.stringify(await hub.list());
  const cases: [string, unknown, RegExp][] = [
    ['/v1/responses', { model: MODEL, input, tools: [{ type: 'mcp', server_label: 'evil', server_url: 'http://127.0.0.1:1/mcp', require_approval: 'never' }] }, /tools\[0\]\.server_url: MCP servers are declared in the server's config file/],
    ['/v1/responses', { model: MODEL, input, tools: [{ type: 'mcp', server_label: 'main', headers: { 'X-Test-Token': 'mine' }, require_approval: 'never' }] }, /tools\[0\]\.headers: MCP servers are declared/],
    ['/v1/responses', { model: MODEL, input, tools: [{ type: 'mcp', server_label: 'main' , require_approval: 'always' }] }, /approval requests are not implemented/],
    ['/v1/responses', { model: MODEL, input, tools: [{ type: 'mcp', server_label: 'nowhere', require_approval: 'never' }] }, /no MCP server \\"nowhere\\" is configured \(configured: main, bad, net, web, webbad\)/],
    ['/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: input }], hearth_mcp: [{ server_label: 'main', command: '/bin/sh', args: ['-c', 'id'] }] }, /hearth_mcp\[0\]\.command: MCP servers are declared in the server's config file only/],
    ['/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: input }], hearth_mcp: [{ server_label: 'main', env: { MCP_NONCE: 'x' } }] }, /hearth_mcp\[0\]\.env/],
    ['/api/chat', { model: MODEL, messages: [{ role: 'user', content: input }], hearth_mcp: [{ server_label: 'web', url: 'http://evil' }] }, /hearth_mcp\[0\]\.url/],
    ['/v1/messages', { model: MODEL, max_tokens: 4, messages: [{ role: 'user', content: input }], mcp_servers: [{ type: 'url', url: 'http://127.0.0.1:1/', name: 'x' }] }, /mcp_servers/],
  ];
  for (const [path, body, re] of cases) {
    const r = await post(path, body);
    assert.equal(r.status, 400, `${path} ${JSON.stringify(body)}`);
    assert.match(await r.text(), re);
  }
  assert.equal(JSON.stringify(await hub.list()), before);
  assert.deepEqual(hub.labels, ['main', 'bad', 'net', 'web', 'webbad']);
});

test('hearth mcp list reads the config file: each server and its tools, and why one could not start', async () => {
  const file = join(dir, 'config.yaml');
  writeFileSync(file, `mcp_servers:\n  main:${stdio('')}\n  broken:\n    command: /usr/bin/false\n    workspace: ${workspace}\n    start_timeout: 5s\n`);
  process.env.MCP_NONCE = NONCE;
  let out = '';
  assert.equal(await mcpList(['--config', file], (t) => { out += t; }), 1);
  assert.match(out, /^main {2}stdio .*\n {2}lookup {2}Look a key up\n/m);
  assert.match(out, /^broken {2}stdio {2}\/usr\/bin\/false.*\n {2}error: MCP server "broken": could not start: /m);
  out = '';
  await mcpList(['--config', file, '--json'], (t) => { out += t; });
  const listed = JSON.parse(out) as { name: string; tools?: { name: string }[]; error?: string }[];
  assert.deepEqual(listed.map((s) => [s.name, (s.tools?.length ?? 0) > 0, s.error !== undefined]), [['main', true, false], ['broken', false, true]]);
});

test('an idle stdio server is stopped after idle_timeout and started again when next used', async () => {
  const config = parseGatewayConfig(`mcp_servers:\n  idle:${stdio('\n    idle_timeout: 300ms')}\n`, 'mcp.yaml', { env: { MCP_NONCE: NONCE }, secret: () => undefined });
  const idleHub = new McpHub(config.mcpServers, () => openSandbox());
  try {
    const c = idleHub.server('idle', 'x');
    assert.equal((await c.call('lookup', { key: 'a' })).text, `value:a:${NONCE}`);
    assert.equal((await c.call('lookup', { key: 'b' })).text, `value:b:${NONCE}`);
    assert.equal(c.starts, 1);
    await new Promise((r) => setTimeout(r, 800));
    assert.equal((await c.call('lookup', { key: 'c' })).text, `value:c:${NONCE}`);
    assert.equal(c.starts, 2);
  } finally {
    await idleHub.close();
  }
});
