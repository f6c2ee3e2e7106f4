// No key, token or provider secret reaches a log line, wherever a client puts it: the query string, every header
// that carries credentials, the path, and body fields that error messages echo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSecureServer, call, CHAT } from './harness.ts';
import { redactSecrets } from '../../src/server/middleware/redact.ts';

test('redactSecrets censors keys, bearer credentials and key-named query parameters, and leaves the rest', () => {
  assert.equal(redactSecrets('/v1/models?key=abc123&x=1'), '/v1/models?key=[REDACTED]&x=1');
  assert.equal(redactSecrets('/x?api_key=a&token=b&access_token=c'), '/x?api_key=[REDACTED]&token=[REDACTED]&access_token=[REDACTED]');
  assert.equal(redactSecrets('authorization: Bearer abc.def'), 'authorization: Bearer [REDACTED]');
  assert.equal(redactSecrets('model "hth_0123456789abcdefABCDEF" is not served'), 'model "hth_[REDACTED]" is not served');
  assert.equal(redactSecrets('upstream said sk-proj-0123456789abcdef'), 'upstream said sk-[REDACTED]');
  assert.equal(redactSecrets('/v1/models?limit=5 status ok'), '/v1/models?limit=5 status ok');
});

test('no secret in any log line, wherever the client sends it', async () => {
  const srv = await startSecureServer();
  try {
    const good = srv.store.keys.create({ name: 'good' }).secret;
    const made = srv.store.keys.create({ name: 'other' });
    srv.store.keys.revoke(made.key.id);
    const revoked = made.secret;
    const provider = 'sk-ant-api03-' + 'Q'.repeat(40);
    const bearer = 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl';
    const secrets = [good, revoked, provider, bearer];
    for (const s of secrets) {
      await call(srv.base, `/v1/models?key=${s}`);
      await call(srv.base, `/v1/models?api_key=${encodeURIComponent(s)}&token=${s}`);
      await call(srv.base, `/v1/chat/completions?key=${s}`, { key: good, body: CHAT });
      await call(srv.base, '/v1/models', { key: s });
      await call(srv.base, '/v1/messages', { headers: { 'x-api-key': s }, body: { model: 'stories260K', max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] } });
      await call(srv.base, '/metrics', { headers: { authorization: `Basic ${Buffer.from(`u:${s}`).toString('base64')}`, 'proxy-authorization': `Bearer ${s}` } });
      // in a path only a recognisable key (hth_…, sk-…) can be told from a model name
      if (s !== bearer) await call(srv.base, `/v1/models/${s}`, { key: good });
      // echoed by error messages: an unknown model, an unknown field, a bad value
      await call(srv.base, '/v1/chat/completions', { key: good, body: { ...CHAT, model: s } });
      // an unknown field's name is logged (ignored_fields): only a recognisable key can be told from a field name
      if (s !== bearer) await call(srv.base, '/api/generate', { key: good, body: { model: 'stories260K', prompt: 'x', options: { num_predict: 2 }, [s]: 1 } });
      await call(srv.base, '/api/generate', { key: good, body: { model: 'stories260K', prompt: 'x', options: { num_predict: 2 }, keep_alive: s } });
    }
    await new Promise((r) => setTimeout(r, 50));
    const logs = srv.logs.join('');
    assert.ok(srv.logs.length >= secrets.length * 8, `${srv.logs.length} log lines`);
    assert.match(logs, /\[REDACTED\]/, 'the search looks at the right lines');
    for (const s of secrets) {
      for (const piece of [s, s.slice(4, 20), encodeURIComponent(s)]) {
        assert.ok(!logs.includes(piece), `${piece} is in the logs: ${srv.logs.find((l) => l.includes(piece))}`);
      }
    }
  } finally {
    await srv.close();
  }
});
