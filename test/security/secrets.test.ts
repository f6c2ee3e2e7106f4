// No secret in plain text anywhere: create keys (CLI, store, admin API), use them (good, bad, revoked, in
// every header), then search the database file, its WAL and every log line for each secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startSecureServer, call, CHAT } from './harness.ts';
import { REPO_ROOT } from '../shared.ts';

function occurrences(haystack: Buffer, secret: string): string[] {
  // The whole secret, and its body after the stored prefix (so a partial leak counts too).
  return [secret, secret.slice(12), Buffer.from(secret).toString('base64')].filter((s) => haystack.includes(s));
}

test('keys and requests leave no secret in the database, its WAL or the logs', async () => {
  const srv = await startSecureServer();
  const secrets: string[] = [];
  try {
    // A key made by the CLI against the same database, while the server runs.
    const cli = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/hearth.js'), 'keys', 'create', '--name', 'cli', '--scopes', 'admin,inference'],
      { env: { ...process.env, HEARTH_DB: srv.dbPath }, encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const cliSecret = cli.stdout.trim();
    assert.match(cliSecret, /^hth_[0-9A-Za-z]{43}$/);
    secrets.push(cliSecret);
    const user = srv.store.keys.create({ name: 'user', rpm: 100 });
    secrets.push(user.secret);
    const made = await call(srv.base, '/admin/keys', { key: cliSecret, body: { name: 'api' } });
    assert.equal(made.status, 201);
    secrets.push(made.json.key);
    const revoked = srv.store.keys.create({ name: 'revoked' });
    srv.store.keys.revoke(revoked.key.id);
    secrets.push(revoked.secret);

    for (const s of secrets) {
      await call(srv.base, '/v1/chat/completions', { key: s, body: CHAT });
      await call(srv.base, '/v1/messages', { headers: { 'x-api-key': s }, body: { model: 'stories260K', max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] } });
      await call(srv.base, '/api/generate', { key: s, body: { model: 'nope', prompt: 'x' } });
      await call(srv.base, '/metrics', { headers: { authorization: `Basic ${s}` } });
      const wrong = await call(srv.base, '/v1/models', { headers: { authorization: `Bearer ${s}`, 'x-api-key': s.slice(0, -1) } });
      assert.equal(wrong.status, 401);
      assert.deepEqual(occurrences(Buffer.from(wrong.text), s), [], 'an error body echoes the key');
    }
    await call(srv.base, '/admin/keys', { key: cliSecret });
    await new Promise((r) => setTimeout(r, 50));
    const keysCli = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/hearth.js'), 'keys', 'list', '--json'], { env: { ...process.env, HEARTH_DB: srv.dbPath }, encoding: 'utf8' });
    assert.equal(keysCli.status, 0, keysCli.stderr);

    // While the server runs, the recent writes are in the WAL.
    assert.ok(existsSync(`${srv.dbPath}-wal`));
    const files = [srv.dbPath, `${srv.dbPath}-wal`].map((p) => readFileSync(p));
    const logs = Buffer.from(srv.logs.join(''));
    assert.ok(srv.logs.length > 20, `${srv.logs.length} log lines`);
    assert.ok(files[1].length > 0);
    for (const s of secrets) {
      assert.deepEqual(occurrences(files[0], s), [], 'in the database file');
      assert.deepEqual(occurrences(files[1], s), [], 'in the WAL');
      assert.deepEqual(occurrences(logs, s), [], 'in the logs');
      assert.deepEqual(occurrences(Buffer.from(keysCli.stdout), s), [], 'in keys list');
      // Sanity: the prefix is stored, so the search looks at the right bytes.
      assert.ok(files.some((f) => f.includes(s.slice(0, 12))), 'prefix not found: the search is blind');
    }
  } finally {
    await srv.close();
  }
});
