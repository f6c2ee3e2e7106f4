// hearth keys and hearth usage against a database of their own (HEARTH_DB), as a person runs them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../shared.ts';
import { tempDir } from './harness.ts';
import { openStore } from '../../src/store/store.ts';

function hearth(db: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/hearth.js'), ...args], { env: { ...process.env, HEARTH_DB: db }, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('keys create / list / revoke and usage, through the CLI', () => {
  const db = join(tempDir(), 'hearth.db');
  const made = hearth(db, 'keys', 'create', '--name', 'ci', '--scopes', 'inference,metrics', '--models', 'a,b', '--rpm', '30', '--tpm', '5000',
    '--concurrency', '2', '--expires', '30d', '--json');
  assert.equal(made.code, 0, made.err);
  const k = JSON.parse(made.out);
  assert.match(k.key, /^hth_[0-9A-Za-z]{43}$/);
  assert.deepEqual([k.name, k.scopes, k.models, k.rpm, k.tpm, k.concurrency, k.status], ['ci', ['inference', 'metrics'], ['a', 'b'], 30, 5000, 2, 'active']);
  assert.ok(Math.abs(Date.parse(k.expires_at) - Date.parse(k.created_at) - 30 * 86_400_000) < 1000, `${k.created_at} ${k.expires_at}`);

  const plain = hearth(db, 'keys', 'create', '--name', 'second');
  assert.equal(plain.code, 0, plain.err);
  assert.match(plain.out, /^hth_[0-9A-Za-z]{43}\n$/, 'stdout holds only the secret');
  assert.match(plain.err, /shown only now/);

  const list = hearth(db, 'keys', 'list');
  assert.equal(list.code, 0);
  assert.match(list.out, new RegExp(`${k.id}\\s+ci\\s+${k.prefix}…\\s+active\\s+inference,metrics\\s+a,b\\s+30 rpm, 5000 tpm, 2 at once`));
  for (const secret of [k.key, plain.out.trim()]) assert.ok(!list.out.includes(secret.slice(12)));

  const revoked = hearth(db, 'keys', 'revoke', k.id);
  assert.equal(revoked.code, 0, revoked.err);
  assert.match(hearth(db, 'keys', 'list', '--json').out, /"status": "revoked"/);
  const missing = hearth(db, 'keys', 'revoke', 'key_nope');
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no key with id "key_nope"/);
  const bad = hearth(db, 'keys', 'create', '--name', 'x', '--scopes', 'root');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /unknown scope "root"/);
  assert.equal(hearth(db, 'keys', 'create', '--name', 'x', '--expires', 'soon').code, 1);

  const store = openStore(db);
  const now = Date.now();
  store.usage.record({ at: now - 3 * 86_400_000, keyId: k.id, method: 'POST', route: '/v1/chat/completions', model: 'a', promptTokens: 100, completionTokens: 100, status: 200, durationMs: 5 });
  store.usage.record({ at: now - 1000, keyId: k.id, method: 'POST', route: '/v1/chat/completions', model: 'a', promptTokens: 7, completionTokens: 9, status: 200, durationMs: 10 });
  store.usage.record({ at: now - 500, keyId: k.id, method: 'GET', route: '/v1/models', status: 429, durationMs: 1 });
  store.close();
  const day = hearth(db, 'usage', '--since', '24h', '--json');
  assert.equal(day.code, 0, day.err);
  const rows = JSON.parse(day.out).rows;
  assert.deepEqual(rows.map((r: Record<string, unknown>) => [r.key, r.name, r.requests, r.errors, r.rate_limited, r.prompt_tokens, r.completion_tokens]),
    [[k.id, 'ci', 2, 1, 1, 7, 9]]);
  const all = hearth(db, 'usage', '--by', 'route');
  assert.match(all.out, /Usage, all time:/);
  assert.match(all.out, /\/v1\/chat\/completions\s+2\s+0\s+0\s+107\s+109/);
  assert.match(hearth(db, 'usage', '--key', 'key_other').out, /No requests recorded/);
  assert.equal(hearth(db, 'usage', '--by', 'day').code, 1);
});
