import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHearthError } from '../../util/errors.ts';
import type { ApiKey, Verification } from '../../store/keys.ts';
import { authenticate, authorize, checkModel, presentedSecret, requestedModel, routeAccess } from './auth.ts';
import { isLoopback } from './serve-security.ts';
import { checkOrigins, originAllowed } from './cors.ts';
import { checkAllowedHosts, hostAllowed, hostName } from './host-check.ts';

const SECRET = `hth_${'a'.repeat(43)}`;
const key: ApiKey = { id: 'key_1', name: 'k', prefix: SECRET.slice(0, 12), scopes: ['inference'], createdAt: 0 };
const verifier = (v: Verification) => ({ verify: (s: string) => (s === SECRET ? v : { ok: false as const, reason: 'unknown' as const }) });

test('the secret comes from Authorization: Bearer or x-api-key', () => {
  assert.equal(presentedSecret({ authorization: `Bearer ${SECRET}` }), SECRET);
  assert.equal(presentedSecret({ authorization: `bearer  ${SECRET} ` }), SECRET);
  assert.equal(presentedSecret({ 'x-api-key': SECRET }), SECRET);
  assert.equal(presentedSecret({ authorization: `Bearer ${SECRET}`, 'x-api-key': SECRET }), SECRET);
  assert.equal(presentedSecret({}), undefined);
  for (const headers of [{ authorization: `Basic ${SECRET}` }, { authorization: 'Bearer' }, { authorization: `Bearer ${SECRET} extra` },
    { authorization: `Bearer ${SECRET}`, 'x-api-key': 'other' }]) {
    assert.throws(() => presentedSecret(headers), (e) => isHearthError(e, 'unauthorized'), JSON.stringify(headers));
  }
});

test('authenticate: unauthorized with the reason, the key otherwise', () => {
  assert.equal(authenticate(verifier({ ok: true, key }), { authorization: `Bearer ${SECRET}` }), key);
  const why = (v: Verification, headers: Record<string, string>) => {
    try {
      authenticate(verifier(v), headers);
    } catch (e) {
      assert.ok(isHearthError(e, 'unauthorized'));
      return e.message;
    }
    assert.fail('authenticated');
  };
  assert.match(why({ ok: true, key }, {}), /no API key/);
  assert.match(why({ ok: false, reason: 'revoked' }, { 'x-api-key': SECRET }), /revoked/);
  assert.match(why({ ok: false, reason: 'expired' }, { 'x-api-key': SECRET }), /expired/);
  assert.match(why({ ok: true, key }, { 'x-api-key': 'hth_other' }), /not valid/);
});

test('routes: /health open, inference and model routes scoped, unknown routes need admin', () => {
  assert.equal(routeAccess('GET', '/health'), 'open');
  assert.equal(routeAccess('HEAD', '/health'), 'open');
  assert.equal(routeAccess('POST', '/v1/chat/completions'), 'inference');
  assert.equal(routeAccess('POST', '/api/embed'), 'inference');
  assert.equal(routeAccess('GET', '/v1/models/*'), 'models:read');
  assert.equal(routeAccess('POST', '/api/pull'), 'models:write');
  assert.equal(routeAccess('GET', '/metrics'), 'metrics');
  assert.equal(routeAccess('POST', '/admin/keys'), 'admin');
  assert.equal(routeAccess('POST', '/v1/something-new'), 'admin');
  // llama-server's native endpoints
  assert.equal(routeAccess('GET', '/v1/health'), 'open');
  for (const r of ['/completion', '/completions', '/infill', '/tokenize', '/detokenize', '/apply-template', '/embedding', '/embeddings']) {
    assert.equal(routeAccess('POST', r), 'inference', r);
  }
  assert.equal(routeAccess('GET', '/props'), 'models:read');
  assert.equal(routeAccess('GET', '/slots'), 'models:read');
  assert.equal(routeAccess('POST', '/props'), 'admin');
  assert.equal(routeAccess('GET', undefined), 'any');
  // any valid key reaches the MCP transport; each tool checks its own scope (mcp-server/tools.ts)
  assert.equal(routeAccess('POST', '/mcp'), 'any');
  authorize(key, 'inference');
  authorize(key, 'any');
  assert.throws(() => authorize(key, 'metrics'), (e) => isHearthError(e, 'forbidden') && /"metrics" scope/.test(e.message));
});

test('model allow-list: names compare after canonicalisation; no list allows any model', () => {
  const canon = (n: string) => n.replace(/:latest$/, '');
  const limited: ApiKey = { ...key, models: ['stories260K', 'other'] };
  checkModel(limited, 'stories260K:latest', canon);
  checkModel(limited, undefined, canon);
  checkModel(key, 'anything', canon);
  assert.throws(() => checkModel(limited, 'llama', canon), (e) => isHearthError(e, 'forbidden') && /may not use model "llama"/.test(e.message));
  assert.equal(requestedModel({ model: 'm' }, {}), 'm');
  assert.equal(requestedModel({ name: 'n' }, {}), 'n');
  assert.equal(requestedModel({ model: 3 }, { '*': 'p' }), 'p');
  assert.equal(requestedModel([1], undefined), undefined);
});

test('loopback hosts and CORS origins', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) assert.ok(isLoopback(h), h);
  for (const h of ['0.0.0.0', '::', '192.168.1.2', '10.0.0.1', 'example.com', '128.0.0.1']) assert.ok(!isLoopback(h), h);
  const some = checkOrigins(['http://localhost:3000', 'https://app.example', 'chrome-extension://abc']);
  assert.deepEqual([...some.extra], ['http://localhost:3000', 'https://app.example', 'chrome-extension://abc']);
  assert.equal(checkOrigins(['*']).any, true);
  for (const bad of ['localhost:3000', 'https://app.example/', 'https://app.example/path', 'ftp://', 'none x', 'https://a.example:99999']) {
    assert.throws(() => checkOrigins([bad]), (e) => isHearthError(e, 'invalid_argument'), bad);
  }
  assert.throws(() => checkOrigins(['none', 'https://app.example']), (e) => isHearthError(e, 'invalid_argument'));
  const local = checkOrigins([]);
  for (const o of ['http://localhost', 'http://localhost:5173', 'https://127.0.0.1:8443', 'http://[::1]:3000', 'http://app.localhost:8080',
    'app://-', 'file://', 'tauri://localhost', 'vscode-webview://1abc', 'vscode-file://vscode-app', 'chrome-extension://abcdef', 'moz-extension://x']) {
    assert.ok(originAllowed(local, o), o);
    assert.ok(!originAllowed(checkOrigins(['none']), o), o);
  }
  for (const o of ['https://evil.example', 'http://localhost.evil.example', 'http://127.0.0.1.evil.example', 'null', 'http://localhost:5173/', 'ftp://localhost']) {
    assert.ok(!originAllowed(local, o), o);
  }
  assert.ok(originAllowed(some, 'https://app.example') && !originAllowed(some, 'https://app.example:444'));
  assert.ok(originAllowed(checkOrigins(['null']), 'null'));
  assert.ok(originAllowed(checkOrigins(['*']), 'https://evil.example'));
});

test('Host names a loopback server answers', () => {
  assert.equal(hostName('LocalHost:8434'), 'localhost');
  assert.equal(hostName('[::1]:8434'), '::1');
  assert.equal(hostName('example.com.'), 'example.com');
  const base = checkAllowedHosts([]);
  for (const h of ['localhost', 'localhost:8434', 'app.localhost:1', '127.0.0.1:8434', '127.9.9.9', '[::1]:8434', '[::1]', undefined, '']) {
    assert.ok(hostAllowed(base, h), String(h));
  }
  for (const h of ['evil.example', 'evil.example:8434', 'localhost.evil.example', '127.0.0.1.nip.io', '192.168.1.2:8434', '[::2]']) {
    assert.ok(!hostAllowed(base, h), h);
  }
  const more = checkAllowedHosts(['myhost.lan', '.example.com']);
  for (const h of ['myhost.lan:8434', 'MYHOST.LAN', 'example.com', 'api.example.com:1']) assert.ok(hostAllowed(more, h), h);
  assert.ok(!hostAllowed(more, 'otherhost.lan'));
  assert.ok(hostAllowed(checkAllowedHosts(['*']), 'evil.example'));
  for (const bad of ['http://x.example', 'x.example:80', 'a b', '']) {
    assert.throws(() => checkAllowedHosts([bad]), (e) => isHearthError(e, 'invalid_argument'), bad);
  }
});
