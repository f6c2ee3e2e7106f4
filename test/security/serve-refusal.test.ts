// hearth serve decides about authentication before it listens: beyond loopback it needs a key or an explicit
// --insecure-no-auth; on loopback it is opt-in (--auth).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../shared.ts';
import { STORIES } from '../server/harness.ts';
import { tempDir } from './harness.ts';
import { serveSecurity } from '../../src/server/middleware/serve-security.ts';
import { openStore } from '../../src/store/store.ts';
import { isHearthError } from '../../src/util/errors.ts';

test('hearth serve --host 0.0.0.0 without a key refuses to start, naming the way out', () => {
  const db = join(tempDir(), 'hearth.db');
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/hearth.js'), 'serve', STORIES, '--host', '0.0.0.0', '--port', '0'],
    { env: { ...process.env, HEARTH_DB: db }, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /refusing to serve on 0\.0\.0\.0, beyond this machine, without an API key/);
  assert.match(r.stderr, /hearth keys create --name NAME/);
  assert.match(r.stderr, /--insecure-no-auth/);
  assert.doesNotMatch(r.stdout, /Server listening/);
});

test('the policy: loopback open unless --auth; beyond loopback keys required; --insecure-no-auth opens it loudly', () => {
  const db = join(tempDir(), 'hearth.db');
  const local = serveSecurity({ host: '127.0.0.1', dbPath: db });
  assert.equal(local.auth, false);
  assert.equal(local.options.keys, undefined);
  assert.ok(local.options.usage, 'the audit is on without authentication too');
  local.close();
  for (const flags of [{ host: '127.0.0.1', auth: true }, { host: '0.0.0.0' }, { host: '::' }, { host: '192.168.1.20' }]) {
    assert.throws(() => serveSecurity({ ...flags, dbPath: db }), (e) => isHearthError(e, 'invalid_argument') && /refusing to serve/.test(e.message), JSON.stringify(flags));
  }
  const open = serveSecurity({ host: '0.0.0.0', insecureNoAuth: true, dbPath: db });
  assert.equal(open.auth, false);
  assert.match(open.warnings.join('\n'), /AUTHENTICATION IS OFF/);
  open.close();
  assert.throws(() => serveSecurity({ host: '0.0.0.0', auth: true, insecureNoAuth: true, dbPath: db }), /contradict/);

  const store = openStore(db);
  const { key } = store.keys.create({ name: 'k' });
  store.close();
  const guarded = serveSecurity({ host: '0.0.0.0', dbPath: db });
  assert.equal(guarded.auth, true);
  assert.ok(guarded.options.keys);
  assert.deepEqual(guarded.warnings, []);
  guarded.close();
  // A revoked key does not count.
  const s2 = openStore(db);
  s2.keys.revoke(key.id);
  s2.close();
  assert.throws(() => serveSecurity({ host: '0.0.0.0', dbPath: db }), /refusing/);
});
