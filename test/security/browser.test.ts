// Browser access and DNS rebinding on a live loopback server: the origins of this machine's pages and apps are
// allowed by default (with CORS preflights), any other is a 403, --cors-origin none refuses all of them; keys
// still apply to browser requests; a Host that is not a name of this machine is refused (--allowed-hosts adds
// names). Host is sent with node:http, since fetch will not let a caller set it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { REPO_ROOT } from '../shared.ts';
import { startSecureServer, call, tempDir, CHAT, type SecureServer } from './harness.ts';
import { startServer, STORIES } from '../server/harness.ts';

let open: SecureServer;
let keyed: SecureServer;
let key: string;

before(async () => {
  open = await startSecureServer({ noAuth: true });
  keyed = await startSecureServer();
  key = keyed.store.keys.create({ name: 'web' }).secret;
});
after(async () => {
  await open.close();
  await keyed.close();
});

const preflight = (origin: string) => ({
  method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
});

test('a page on localhost: the preflight answers 204 with the allow headers, the request carries CORS headers', async () => {
  const origin = 'http://localhost:5173';
  const pre = await call(open.base, '/v1/chat/completions', preflight(origin));
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), origin);
  assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
  assert.equal(pre.headers.get('access-control-allow-headers'), 'content-type, authorization');
  assert.equal(pre.headers.get('vary'), 'origin');
  const r = await call(open.base, '/v1/chat/completions', { body: { ...CHAT, verbosity: 'low' }, headers: { origin } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('access-control-allow-origin'), origin);
  // the page's script may read the request id and the ignored fields
  assert.match(r.headers.get('access-control-expose-headers') ?? '', /hearth-ignored-fields/);
  assert.equal(r.headers.get('hearth-ignored-fields'), 'verbosity');
});

test('editor, app and extension origins are allowed; other sites, and Origin: null, are refused', async () => {
  for (const origin of ['vscode-webview://1a2b3c', 'app://obsidian.md', 'tauri://localhost', 'chrome-extension://abcdefghij', 'http://127.0.0.1:3000', 'http://[::1]:8080']) {
    const r = await call(open.base, '/api/tags', { headers: { origin } });
    assert.equal(r.status, 200, origin);
    assert.equal(r.headers.get('access-control-allow-origin'), origin);
  }
  for (const origin of ['https://evil.example', 'http://localhost.evil.example', 'null']) {
    const r = await call(open.base, '/api/chat', { body: { model: 'stories260K', messages: [] }, headers: { origin } });
    assert.equal(r.status, 403, origin);
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    const pre = await call(open.base, '/api/chat', preflight(origin));
    assert.equal(pre.status, 403, origin);
  }
});

test('--cors-origin none: every browser origin is refused, other clients are served', async () => {
  const off = await startSecureServer({ noAuth: true, security: { corsOrigins: ['none'] } });
  try {
    const r = await call(off.base, '/v1/models', { headers: { origin: 'http://localhost:5173' } });
    assert.equal(r.status, 403);
    assert.match(r.json.error.message, /browser access is off/);
    assert.equal((await call(off.base, '/v1/models')).status, 200);
  } finally {
    await off.close();
  }
});

test('with keys on, an allowed origin still needs a key (the preflight does not)', async () => {
  const origin = 'http://localhost:5173';
  const pre = await call(keyed.base, '/v1/chat/completions', preflight(origin));
  assert.equal(pre.status, 204);
  const without = await call(keyed.base, '/v1/chat/completions', { body: CHAT, headers: { origin } });
  assert.equal(without.status, 401);
  assert.equal(without.headers.get('access-control-allow-origin'), origin);
  const bad = await call(keyed.base, '/v1/chat/completions', { key: 'sk-hearth-wrong', body: CHAT, headers: { origin } });
  assert.equal(bad.status, 401);
  const ok = await call(keyed.base, '/v1/chat/completions', { key, body: CHAT, headers: { origin } });
  assert.equal(ok.status, 200, ok.text);
  // scopes too: an inference key cannot reach the admin routes from a page
  assert.equal((await call(keyed.base, '/admin/keys', { key, headers: { origin } })).status, 403);
});

/** GET with a Host header of our choosing. */
function getWithHost(base: string, path: string, host: string): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET', headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('DNS rebinding: on a loopback server a foreign Host is refused, this machine\'s names are served', async () => {
  const port = new URL(open.base).port;
  for (const host of ['evil.example', `evil.example:${port}`, `localhost.evil.example:${port}`]) {
    const r = await getWithHost(open.base, '/v1/models', host);
    assert.equal(r.status, 403, host);
    assert.match(JSON.parse(r.body).error.message, /is not a name of this machine.*--allowed-hosts/);
    // even the open routes: a rebinding page learns nothing
    assert.equal((await getWithHost(open.base, '/health', host)).status, 403, host);
  }
  for (const host of [`localhost:${port}`, 'localhost', `127.0.0.1:${port}`, `[::1]:${port}`, `app.localhost:${port}`]) {
    assert.equal((await getWithHost(open.base, '/v1/models', host)).status, 200, host);
  }
});

test('--allowed-hosts adds names; "*" turns the check off', async () => {
  const named = await startServer({ parallel: 1, app: { security: { allowedHosts: ['hearth.lan', '.corp.example'] } } });
  const any = await startServer({ parallel: 1, app: { security: { allowedHosts: ['*'] } } });
  try {
    for (const host of ['hearth.lan', 'hearth.lan:8434', 'api.corp.example']) assert.equal((await getWithHost(named.base, '/v1/models', host)).status, 200, host);
    assert.equal((await getWithHost(named.base, '/v1/models', 'evil.example')).status, 403);
    assert.equal((await getWithHost(any.base, '/v1/models', 'evil.example')).status, 200);
  } finally {
    await named.close();
    await any.close();
  }
});

test('beyond loopback Host is not checked', async () => {
  const srv = await startServer({ parallel: 1, listenHost: '0.0.0.0' });
  try {
    const { port } = srv.app.server.address() as AddressInfo;
    assert.equal((await getWithHost(`http://127.0.0.1:${port}`, '/v1/models', 'hearth.example')).status, 200);
  } finally {
    await srv.close();
  }
});

test('hearth serve: --allowed-hosts, --cors-origin and --strict through the command line', async () => {
  const env = { ...process.env, HEARTH_DB: join(tempDir(), 'hearth.db') };
  const cli = [join(REPO_ROOT, 'bin/hearth.js'), 'serve', STORIES, '--port', '0'];
  // Bad values are refused before it listens.
  for (const [flag, value, message] of [['--allowed-hosts', 'http://hearth.lan', /--allowed-hosts "http:\/\/hearth.lan" is not a host name/],
    ['--cors-origin', 'none,https://app.example', /--cors-origin none refuses every browser origin/]] as const) {
    const r = spawnSync(process.execPath, [...cli, flag, value], { env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, message);
  }
  const child = spawn(process.execPath, [...cli, '--strict', '--allowed-hosts', 'hearth.lan,.corp.example', '--cors-origin', 'none'], { env });
  try {
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        out += c;
        const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`hearth serve exited with ${code}: ${out}`)));
    });
    for (let i = 0; (await fetch(base + '/health')).status !== 200; i++) {
      if (i > 300) throw new Error('the model did not load');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await getWithHost(base, '/v1/models', 'hearth.lan')).status, 200);
    assert.equal((await getWithHost(base, '/v1/models', 'db.corp.example:8434')).status, 200);
    assert.equal((await getWithHost(base, '/v1/models', 'evil.example')).status, 403);
    assert.equal((await call(base, '/v1/models', { headers: { origin: 'http://localhost:5173' } })).status, 403);
    const strict = await call(base, '/v1/chat/completions', { body: { ...CHAT, verbosity: 'low' } });
    assert.equal(strict.status, 400);
    assert.match(strict.json.error.message, /unrecognized field verbosity/);
  } finally {
    child.kill('SIGTERM');
  }
});
