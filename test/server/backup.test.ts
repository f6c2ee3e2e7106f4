// hearth backup FILE while hearth serve writes: keys created through the admin API (each acknowledged only once
// committed) keep arriving during the copy; the copy passes PRAGMA integrity_check and holds every key acknowledged
// before the backup started. Refusals: an existing FILE, a missing database.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { tempDir } from '../security/harness.ts';
import { openStore } from '../../src/store/store.ts';
import { HEARTH_BIN, spawnServe } from './serve-process.ts';

test('hearth backup while the server writes: a whole database with every acknowledged row', { timeout: 120_000 }, async () => {
  const home = tempDir('hearth-backup-');
  const store = openStore(join(home, 'hearth.db'));
  const admin = store.keys.create({ name: 'admin', scopes: ['admin'] }).secret;
  store.close();
  const env = { ...process.env, HEARTH_HOME: home, HEARTH_MODELS: join(home, 'models') };
  const srv = await spawnServe(['--auth', '--log-dir', 'none'], env);
  const acked: { id: string; at: number }[] = [];
  let writing = true;
  const create = async (n: number) => {
    const r = await fetch(`${srv.base}/admin/keys`, {
      method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: `k${n}` }),
    });
    assert.equal(r.status, 201);
    acked.push({ id: ((await r.json()) as { id: string }).id, at: performance.now() });
  };
  let n = 0;
  const writers = Array.from({ length: 8 }, async () => {
    while (writing) await create(n++);
  });
  try {
    while (acked.length < 200) await new Promise((r) => setTimeout(r, 10));
    const copy = join(home, 'copy.db');
    const startedAt = performance.now();
    const backup = spawn(process.execPath, [HEARTH_BIN, 'backup', copy, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    backup.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    backup.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const code = await new Promise<number | null>((r) => backup.once('exit', r));
    const endedAt = performance.now();
    assert.equal(code, 0, err);
    const report = JSON.parse(out) as { path: string; pages: number; bytes: number };
    assert.equal(report.path, copy);
    assert.ok(report.pages > 10);
    const during = acked.filter((a) => a.at > startedAt && a.at < endedAt).length;
    assert.ok(during > 0, 'writes went on while the backup ran');

    const db = new DatabaseSync(copy, { readOnly: true });
    try {
      assert.deepEqual(db.prepare('PRAGMA integrity_check').all().map((r) => ({ ...r })), [{ integrity_check: 'ok' }]);
      const ids = new Set((db.prepare('SELECT id FROM api_keys').all() as { id: string }[]).map((r) => r.id));
      const before = acked.filter((a) => a.at < startedAt);
      assert.ok(before.length >= 200);
      for (const a of before) assert.ok(ids.has(a.id), `${a.id}, acknowledged before the backup, is in the copy`);
      // a snapshot: what it holds is a prefix of the creations (keys are created one transaction each)
      assert.ok(ids.size >= before.length + 1 && ids.size <= acked.filter((a) => a.at < endedAt).length + 1 + 8, `${ids.size} keys`);
      assert.equal(db.prepare('PRAGMA journal_mode').get()!.journal_mode, 'delete');
    } finally {
      db.close();
    }
    assert.ok(!existsSync(`${copy}-wal`));
    // the copy is a database hearth opens
    const keys = spawnSync(process.execPath, [HEARTH_BIN, 'keys', 'list'], { env: { ...env, HEARTH_DB: copy }, encoding: 'utf8' });
    assert.equal(keys.status, 0, keys.stderr);
    assert.match(keys.stdout, /admin/);

    // never over an existing file; a missing database is named
    const again = spawnSync(process.execPath, [HEARTH_BIN, 'backup', copy], { env, encoding: 'utf8' });
    assert.equal(again.status, 1);
    assert.match(again.stderr, /exists; backups never overwrite a file/);
    const missing = spawnSync(process.execPath, [HEARTH_BIN, 'backup', join(home, 'y.db')], { env: { ...env, HEARTH_DB: join(home, 'nope.db') }, encoding: 'utf8' });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no database at .*nope\.db/);
  } finally {
    writing = false;
    await Promise.allSettled(writers);
    srv.child.kill('SIGTERM');
    await srv.exited;
  }
});
