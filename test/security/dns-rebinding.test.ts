// DNS rebinding: a page on evil.com whose name now resolves to 127.0.0.1 reaches a loopback server with
// `Host: evil.com` and no Origin. Every route must refuse it (403), /health included (on loopback a health check
// comes from this machine and names it; behind a proxy, --allowed-hosts names the proxy's host); the server's own
// names (localhost, 127.0.0.1, with the port or without) are served.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startServer, type TestServer } from '../server/harness.ts';

let srv: TestServer;
let port: number;
before(async () => {
  srv = await startServer({ parallel: 1 });
  port = Number(new URL(srv.base).port);
});
after(() => srv.close());

function send(path: string, host: string, body?: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({
      host: '127.0.0.1', port, path, method: data ? 'POST' : 'GET',
      // (an MCP client accepts both answers /mcp may give)
      headers: { host, accept: 'application/json, text/event-stream', ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(data);
  });
}

const CHAT = { model: 'stories260K', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 };
const MCP_INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
const GUARDED: [string, unknown?][] = [['/v1/models'], ['/metrics'], ['/api/tags'], ['/health'], ['/v1/chat/completions', CHAT], ['/mcp', MCP_INIT]];

test('Host: evil.com with no Origin is refused on every route; the server\'s own names are served', async () => {
  for (const [path, body] of GUARDED) {
    for (const host of ['evil.com', `evil.com:${port}`, 'localhost.evil.com']) {
      assert.equal(await send(path, host, body), 403, `${path} with Host ${host}`);
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, 'localhost']) {
      assert.equal(await send(path, host, body), 200, `${path} with Host ${host}`);
    }
  }
});
