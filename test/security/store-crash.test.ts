// A process killed in the middle of writing loses nothing it had committed: a child writes keys and usage
// rows, printing each id once its transaction returned; it is SIGKILLed mid-stream, and every printed id must be
// in the reopened database, which must pass SQLite's integrity check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { REPO_ROOT } from '../shared.ts';
import { tempDir } from './harness.ts';
import { openStore } from '../../src/store/store.ts';

const CHILD = `
import { openStore } from ${JSON.stringify(join(REPO_ROOT, 'src/store/store.ts'))};
const store = openStore(process.env.DB);
for (let i = 0; ; i++) {
  if (i % 10 === 0) process.stdout.write('key ' + store.keys.create({ name: 'k' + i }).key.id + '\\n');
  store.usage.record({ at: Date.now(), requestId: 'r' + i, method: 'POST', route: '/v1/chat/completions', status: 200, durationMs: 1 });
  process.stdout.write('usage r' + i + '\\n');
}
`;

test('a SIGKILL mid-write loses no acknowledged key or usage row', async () => {
  const db = join(tempDir(), 'crash.db');
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], { env: { ...process.env, DB: db }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      if (out.split('\n').length > 400 && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', () => resolve());
  });
  const lines = out.split('\n').slice(0, -1); // the last line may be cut
  const keys = lines.filter((l) => l.startsWith('key ')).map((l) => l.slice(4));
  const usage = lines.filter((l) => l.startsWith('usage ')).map((l) => l.slice(6));
  assert.ok(keys.length >= 20 && usage.length >= 300, `${keys.length} keys, ${usage.length} rows acknowledged`);

  const raw = new DatabaseSync(db);
  assert.equal((raw.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
  raw.close();
  const store = openStore(db);
  const ids = new Set(store.keys.list().map((k) => k.id));
  for (const id of keys) assert.ok(ids.has(id), `key ${id} lost`);
  const rows = new Set((store.database.db.prepare('SELECT request_id FROM usage').all() as { request_id: string }[]).map((r) => r.request_id));
  for (const id of usage) assert.ok(rows.has(id), `usage ${id} lost`);
  store.close();
});
