import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Database, databasePath } from './database.ts';
import { MIGRATIONS } from './migrations.ts';
import { isHearthError } from '../util/errors.ts';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-db-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the path: HEARTH_DB, else hearth.db in HEARTH_HOME', () => {
  assert.equal(databasePath({ HEARTH_DB: '/x/y.db', HEARTH_HOME: '/h' }), '/x/y.db');
  assert.equal(databasePath({ HEARTH_HOME: '/h' }), join('/h', 'hearth.db'));
});

test('a new file is created owner-only, in WAL mode, at the latest schema version', () => {
  const path = join(tempDir(), 'sub', 'hearth.db');
  const db = Database.open(path);
  try {
    assert.equal(db.version, MIGRATIONS.length);
    assert.equal((db.db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
    // NORMAL = 1: ordinary commits are not fsynced (see database.ts)
    assert.equal((db.db.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous, 1);
    const tables = (db.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    // conversation_search and its FTS5 shadow tables (_config, _content, _data, _docsize, _idx); the knowledge base's kb_ tables
    assert.deepEqual(tables.filter((t) => !t.startsWith('conversation_search_') && !t.startsWith('kb_')), [
      'agent_actions', 'agent_approvals', 'agent_assessments', 'agent_reviews', 'agent_tasks', 'api_keys', 'batch_items', 'batches', 'conversation_items', 'conversation_search', 'conversation_summaries', 'conversations', 'models', 'response_items', 'responses', 'secrets', 'usage',
    ]);
    assert.deepEqual(tables.filter((t) => ['kb_files', 'kb_stores', 'kb_store_files', 'kb_chunks', 'kb_chunks_fts'].includes(t)).length, 5);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  } finally {
    db.close();
  }
  // Reopening runs no migration again (a second CREATE TABLE would throw).
  const again = Database.open(path);
  assert.equal(again.version, MIGRATIONS.length);
  again.close();
});

test('a database from a newer hearth is refused with database_too_new, and left unchanged', () => {
  const path = join(tempDir(), 'new.db');
  const raw = new DatabaseSync(path);
  raw.exec(`PRAGMA user_version = ${MIGRATIONS.length + 1}; CREATE TABLE future (x)`);
  raw.close();
  assert.throws(() => Database.open(path), (e) => isHearthError(e, 'database_too_new') && /newer than this hearth knows/.test(e.message));
  const check = new DatabaseSync(path);
  assert.equal((check.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, MIGRATIONS.length + 1);
  check.close();
});

test('a file that is not a database is an io_error naming the file', () => {
  const path = join(tempDir(), 'junk.db');
  writeFileSync(path, 'this is not sqlite, just some text long enough to fill a header of one hundred bytes or so ..........');
  assert.throws(() => Database.open(path), (e) => isHearthError(e, 'io_error') && e.message.includes(path));
});

test('a transaction that throws leaves nothing behind; durably() restores synchronous=NORMAL', () => {
  const db = Database.open(':memory:');
  const count = () => (db.db.prepare('SELECT count(*) AS n FROM usage').get() as { n: number }).n;
  const insert = () => db.db.prepare("INSERT INTO usage (at, method, route, status, duration_ms) VALUES (1, 'GET', '/x', 200, 1)").run();
  assert.throws(() => db.transaction(() => {
    insert();
    throw new Error('half-way');
  }), /half-way/);
  assert.equal(count(), 0);
  db.durably(insert);
  assert.equal(count(), 1);
  assert.equal((db.db.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous, 1);
  db.close();
});
