// What a request can make the server touch: model names are compared with the served model's names and never
// become paths (nothing outside the models folder is opened), and no request field makes the server fetch a
// URL (a canary server on loopback counts the attempts; no server module can open an outgoing connection).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs, { existsSync } from 'node:fs';
import http from 'node:http';
import { syncBuiltinESMExports } from 'node:module';
import { join, relative } from 'node:path';
import type { AddressInfo } from 'node:net';
import { REPO_ROOT } from '../shared.ts';
import { startSecureServer, call, type SecureServer } from './harness.ts';

let srv: SecureServer;
let key: string;
let canary: http.Server;
let canaryHits = 0;
let canaryUrl: string;

before(async () => {
  srv = await startSecureServer();
  key = srv.store.keys.create({ name: 'k', scopes: ['inference', 'models:read', 'models:write', 'admin'] }).secret;
  canary = http.createServer((_req, res) => {
    canaryHits++;
    res.end('{}');
  });
  await new Promise<void>((r) => canary.listen(0, '127.0.0.1', r));
  canaryUrl = `http://127.0.0.1:${(canary.address() as AddressInfo).port}`;
});
after(async () => {
  await srv.close();
  await new Promise((r) => canary.close(r));
});

/** One MCP tools/call on POST /mcp (stateless: no session to open first). */
const mcpCall = (name: string, args: Record<string, unknown>) => call(srv.base, '/mcp', {
  key, headers: { accept: 'application/json, text/event-stream' },
  body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } },
});

test('model names that look like paths or URLs open no file and fetch nothing', async () => {
  const names = ['../../../../etc/passwd', '/etc/passwd', '..\\..\\windows\\win.ini', 'stories260K/../../../etc/passwd',
    '%2e%2e%2fetc%2fpasswd', `${canaryUrl}/model.gguf`, 'file:///etc/passwd', `hf.co/x/y:Q4_K_M`, 'passwd.gguf'];
  const opened: string[] = [];
  const names0 = ['openSync', 'readFileSync', 'existsSync', 'statSync', 'createReadStream', 'open', 'readFile', 'stat'] as const;
  const saved = new Map<string, unknown>();
  const fsAny = fs as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const n of names0) {
    const orig = fsAny[n];
    saved.set(n, orig);
    fsAny[n] = function (this: unknown, ...args: unknown[]) {
      opened.push(String(args[0]));
      return orig.apply(this, args);
    };
  }
  syncBuiltinESMExports();
  try {
    // The spies reach named imports too (what the server's modules use).
    existsSync(join(REPO_ROOT, 'spy-check'));
    assert.deepEqual(opened, [join(REPO_ROOT, 'spy-check')]);
    for (const model of names) {
      const bodies: [string, unknown][] = [
        ['/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }],
        ['/v1/completions', { model, prompt: 'hi', max_tokens: 1 }],
        ['/v1/embeddings', { model, input: 'hi' }],
        ['/v1/messages', { model, max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] }],
        ['/api/generate', { model, prompt: 'hi', stream: false }],
        ['/api/chat', { model, messages: [{ role: 'user', content: 'hi' }], stream: false }],
        ['/api/show', { model }],
        ['/api/embed', { model, input: 'hi' }],
      ];
      for (const [path, body] of bodies) {
        const r = await call(srv.base, path, { key, body });
        assert.equal(r.status, 404, `${path} ${model}: ${r.text}`);
      }
      const g = await call(srv.base, `/v1/models/${encodeURIComponent(model)}`, { key });
      assert.equal(g.status, 404, model);
      for (const [tool, args] of [['generate', { model, prompt: 'hi', max_tokens: 1 }], ['embed', { model, input: 'hi' }]] as const) {
        const m = await mcpCall(tool, args);
        assert.equal(m.status, 200);
        assert.equal(m.json.result.isError, true);
        assert.equal(m.json.result._meta['hearth/error'].status, 404, `/mcp ${tool} ${model}: ${m.text}`);
      }
    }
  } finally {
    for (const [n, f] of saved) fsAny[n] = f as (...a: unknown[]) => unknown;
    syncBuiltinESMExports();
  }
  assert.deepEqual(opened.filter((p) => /passwd|win\.ini|model\.gguf|\.\./.test(p)), []);
  assert.equal(canaryHits, 0);
});

test('URL-valued request fields are refused or ignored, never fetched', async () => {
  const img = `${canaryUrl}/cat.png`;
  const requests: [string, unknown][] = [
    ['/v1/chat/completions', { model: 'stories260K', max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: img } }] }] }],
    ['/v1/chat/completions', { model: 'stories260K', max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: img, format: 'wav' } }] }] }],
    ['/v1/chat/completions', { model: 'stories260K', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { $ref: img } } } }],
    ['/v1/messages', { model: 'stories260K', max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: img } }] }] }],
    ['/v1/messages', { model: 'stories260K', max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'url', url: img } }] }] }],
    ['/v1/messages', { model: 'stories260K', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }], mcp_servers: [{ type: 'url', url: img, name: 'x' }] }],
    ['/api/generate', { model: 'stories260K', prompt: 'hi', images: [img], stream: false }],
    ['/api/chat', { model: 'stories260K', messages: [{ role: 'user', content: 'hi', images: [img] }], stream: false }],
    ['/api/generate', { model: 'stories260K', prompt: 'hi', template: `{{ include "${img}" }}`, stream: false }],
    ['/api/pull', { model: img }],
    ['/api/create', { model: 'x', from: img }],
    ['/api/blobs/sha256:abc', { url: img }],
  ];
  for (const [path, body] of requests) {
    const r = await call(srv.base, path, { key, body });
    assert.ok(r.status >= 400 && r.status < 500, `${path} ${JSON.stringify(body).slice(0, 80)}: ${r.status}`);
  }
  // an MCP tool takes an image as bytes only
  const image = await mcpCall('analyze_image', { model: 'stories260K', image: img });
  assert.equal(image.json.result.isError, true);
  assert.match(image.json.result.content[0].text, /does not fetch URLs/);
  // A request with a URL where text belongs is just text.
  assert.equal((await call(srv.base, '/v1/completions', { key, body: { model: 'stories260K', prompt: img, max_tokens: 2 } })).status, 200);
  // and a tool whose description is a URL is a tool the model reads about, nothing the server fetches
  const tools = [{ type: 'function', function: { name: 'get', description: img, parameters: { type: 'object', properties: { url: { type: 'string', default: img } } } } }];
  assert.equal((await call(srv.base, '/v1/chat/completions', { key, body: { model: 'stories260K', max_tokens: 2, messages: [{ role: 'user', content: 'hi' }], tools } })).status, 200);
  assert.equal(canaryHits, 0);
});

/**
 * The modules that may connect out, and why: the providers and the pull code, nothing else. The puller fetches only
 * from the allowed hosts (the Hub and Ollama's registry by default; test/library/pull.test.ts shows a request naming
 * another host is refused before anything is fetched). The gateway connects only to the base_url of a provider in the
 * operator's config file, plus a fixed path per dialect: no request field names a URL or a header
 * (test/server/gateway.test.ts, 'no request field reaches the upstream URL or headers'). MCP servers are the config
 * file's too: a request names one by its label (test/server/mcp.test.ts, 'no request field adds or changes a server').
 */
const MAY_CONNECT: Record<string, string> = {
  [join('src', 'library', 'pull.ts')]: 'model pulls (POST /api/pull, hearth pull), from allowed hosts only',
  [join('src', 'library', 'registry.ts')]: "the puller's manifests and small layers from Ollama's registry (an allowed host)",
  [join('src', 'provider', 'gateway', 'transport.ts')]: "the gateway's upstream providers, at the base_url of the config file only",
  [join('src', 'provider', 'mcp', 'connection.ts')]: "MCP servers of the config file: a Streamable HTTP server's url (no request field names one), a stdio server over its pipes",
  [join('src', 'provider', 'image-fetch.ts')]: 'image URLs of requests, only with serve --allow-image-urls, never to loopback, private or link-local addresses',
  // shared state, only with serve --database / --redis: the PostgreSQL and Redis servers the operator names
  [join('src', 'store', 'postgres', 'database.ts')]: 'the PostgreSQL server of --database (keys, usage), and nothing else',
  [join('src', 'store', 'postgres', 'keys.ts')]: 'its LISTEN connection to the same --database server (key revocations)',
  [join('src', 'server', 'middleware', 'redis-rate-limit.ts')]: 'the Redis server of --redis (rate-limit windows)',
  // a command, never loaded by the server: it is the client of one
  [join('src', 'cli', 'server-client.ts')]: 'hearth ps / stop / analyze asking the hearth server the user names (--host, HEARTH_HOST) for /api/ps, an unload, an analysis',
};

/**
 * Modules whose `.connect(` opens nothing on the network: an MCP server object attached to its transport in this
 * process, or LanceDB's local database folder.
 */
const ATTACHES: Record<string, string> = {
  [join('src', 'server', 'routes', 'mcp.ts')]: 'POST /mcp: a fresh McpServer connected to the request\'s Streamable HTTP transport',
  [join('src', 'cli', 'commands', 'mcp.ts')]: 'hearth mcp: the McpServer connected to its stdin and stdout',
  [join('src', 'knowledge', 'lancedb-index.ts')]: "lancedb.connect(DIR): LanceDB's name for opening its database folder (--lancedb), a local path",
};

test('no module the server loads opens outgoing connections, except the providers and the model puller', () => {
  const files = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
  const bad: string[] = [];
  for (const f of files(join(REPO_ROOT, 'src'))) {
    if (f.includes(`${join('src', 'kernels', 'wasm', 'assembly')}`)) continue;
    const src = fs.readFileSync(f, 'utf8');
    const where = relative(REPO_ROOT, f);
    if (MAY_CONNECT[where]) continue;
    for (const m of src.matchAll(/^import (?!type )[^;]*from '(node:)?(http|https|http2|tls|dgram|undici)'/gm)) bad.push(`${where}: ${m[0]}`);
    for (const m of src.matchAll(/^import (?!type )\{([^}]*)\} from 'node:net'/gm)) {
      if (!/^\s*(isIP|isIPv4|isIPv6)(\s*,\s*(isIP|isIPv4|isIPv6))*\s*$/.test(m[1])) bad.push(`${where}: ${m[0]}`);
    }
    // (a module may define its own function called fetch, as model/weights.ts does)
    const ownFetch = /function fetch\(/.test(src);
    for (const m of src.matchAll(/(?<![\w.])fetch\(|new WebSocket\(|\.connect\(/g)) {
      if (ownFetch && m[0] === 'fetch(') continue;
      if (ATTACHES[where] && m[0] === '.connect(') continue;
      bad.push(`${where}: ${m[0]}`);
    }
  }
  assert.deepEqual(bad, []);
  for (const f of [...Object.keys(MAY_CONNECT), ...Object.keys(ATTACHES)]) assert.ok(fs.existsSync(join(REPO_ROOT, f)), `${f} is listed but gone`);
});
