// The hearth database: one SQLite file (node:sqlite, no native addon) in HEARTH_HOME, in WAL mode, migrated to
// the schema this build knows on open.
//
// Durability: WAL with synchronous=NORMAL for ordinary writes (the usage log, one row per request). Every
// write is a transaction, and a committed transaction is in the WAL file before commit returns, so a crash of
// the process loses nothing that was acknowledged; only a power loss or kernel crash can roll back the last
// commits, and the file stays consistent. synchronous=FULL would fsync the WAL on every commit: about 3.5 ms
// per request on the development machine (20 µs with NORMAL), blocking the event loop each time. Changes to
// keys are rare and matter for security (a revocation that a power loss undoes would revive the key), so
// they go through durably(), which commits with synchronous=FULL — that fsync also covers every earlier commit.

import { DatabaseSync } from 'node:sqlite';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { homedir } from 'node:os';
import { HearthError } from '../util/errors.ts';
import { MIGRATIONS } from './migrations.ts';

/** The database file: HEARTH_DB, else hearth.db in HEARTH_HOME (default ~/.hearth). */
export function databasePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.HEARTH_DB ?? join(env.HEARTH_HOME ?? join(homedir(), '.hearth'), 'hearth.db');
}

export class Database {
  readonly path: string;
  readonly db: DatabaseSync;

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.db = db;
  }

  /**
   * Opens (creating when missing) and migrates the database. A file written by a newer hearth is refused with
   * `database_too_new`; a file that is not a SQLite database is an `io_error`.
   */
  static open(path: string = databasePath()): Database {
    const memory = path === ':memory:';
    if (!memory) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const created = !memory && !existsSync(path);
    let db: DatabaseSync;
    try {
      // Extensions may be loaded by this process only (loadExtension, briefly switched on: the knowledge base's
      // sqlite-vec); SQL's load_extension() stays off.
      db = new DatabaseSync(path, { timeout: 5000, allowExtension: true });
      db.enableLoadExtension(false);
    } catch (e) {
      throw new HearthError('io_error', `cannot open database ${path}: ${(e as Error).message}`, { cause: e });
    }
    try {
      // Usage rows hold client addresses and key ids: readable by the owner only.
      if (created) chmodSync(path, 0o600);
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
      migrate(db, path);
    } catch (e) {
      db.close();
      if (e instanceof HearthError) throw e;
      throw new HearthError('io_error', `cannot use database ${path}: ${(e as Error).message}`, { cause: e });
    }
    return new Database(path, db);
  }

  /** The schema version of the open file (SQLite's user_version). */
  get version(): number {
    return userVersion(this.db);
  }

  /** Runs fn in one write transaction: all of it is committed, or none. */
  transaction<T>(fn: () => T): T {
    return transaction(this.db, fn);
  }

  /** A transaction whose commit is fsynced (synchronous=FULL) before this returns: for changes to keys. */
  durably<T>(fn: () => T): T {
    this.db.exec('PRAGMA synchronous = FULL');
    try {
      return transaction(this.db, fn);
    } finally {
      this.db.exec('PRAGMA synchronous = NORMAL');
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

function transaction<T>(db: DatabaseSync, fn: () => T): T {
  // IMMEDIATE takes the write lock at once, so another process's writer makes us wait (busy timeout), not fail
  // half-way.
  db.exec('BEGIN IMMEDIATE');
  try {
    const out = fn();
    db.exec('COMMIT');
    return out;
  } catch (e) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw e;
  }
}

function userVersion(db: DatabaseSync): number {
  return Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
}

/** Brings the schema to MIGRATIONS.length, one transaction per step (user_version is part of each). */
function migrate(db: DatabaseSync, path: string): void {
  const have = userVersion(db);
  if (have > MIGRATIONS.length) {
    throw new HearthError('database_too_new',
      `database ${path} has schema version ${have}, newer than this hearth knows (${MIGRATIONS.length}); ` +
      'upgrade hearth, or point HEARTH_DB at another file');
  }
  for (let v = have; v < MIGRATIONS.length; v++) {
    transaction(db, () => {
      db.exec(MIGRATIONS[v]);
      db.exec(`PRAGMA user_version = ${v + 1}`);
    });
  }
}
