// A PostgreSQL database (`hearth serve --database postgres://…`) through the maintained `pg` client: a pool of
// connections, the schema migrated on open under an advisory lock (replicas starting together migrate once), and
// every failure to reach the server turned into `database_unavailable` (HTTP 503), so that authentication fails
// closed while the database is down.
//
// Durability, as the SQLite store's (store/database.ts): key changes commit with the server's synchronous_commit
// (on by default: the WAL is flushed before COMMIT returns). Usage rows go through a second pool whose sessions
// set synchronous_commit = off: COMMIT returns once the row is in the server's WAL buffers, before the flush, so
// one row costs a round trip instead of an fsync (several ms on a busy disk). A killed hearth replica loses
// nothing (the row is already the server's); a crash of the PostgreSQL server itself can lose the last ~0.6 s of
// usage rows (3 × wal_writer_delay), never a key change, and the database stays consistent.

import pg from 'pg';
import { HearthError } from '../../util/errors.ts';
import { PG_MIGRATIONS } from './migrations.ts';

/** The advisory lock the migrations hold (any fixed 64-bit number; "hearth" in ASCII). */
const MIGRATION_LOCK = 0x686561727468n;

export interface PostgresOptions {
  /** Connections in the pool (default 10). */
  max?: number;
  /** How long a query waits for a connection, or a connection for the server, in ms (default 2000). */
  connectTimeoutMs?: number;
  /** A query's time limit in ms (default 5000). */
  queryTimeoutMs?: number;
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

export function isPostgresUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s);
}

// SQLSTATE classes that mean the server is not there for us: connection exceptions, insufficient resources,
// operator intervention (shutdown, crash recovery), and "cannot connect now".
const DOWN_CLASSES = ['08', '53', '57'];

/** A pg or socket error as a HearthError: the server unreachable → database_unavailable; anything else is a bug. */
export function pgError(e: unknown, where: string): HearthError {
  if (e instanceof HearthError) return e;
  const err = e as { code?: string; message?: string };
  const code = typeof err.code === 'string' ? err.code : '';
  const sqlState = /^[0-9A-Z]{5}$/.test(code);
  if (!sqlState || DOWN_CLASSES.includes(code.slice(0, 2))) {
    return new HearthError('database_unavailable', `the database ${where} cannot be reached: ${err.message ?? String(e)}`, { cause: e });
  }
  return new HearthError('internal', `database ${where}: ${err.message ?? String(e)} (SQLSTATE ${code})`, { cause: e });
}

export class PostgresDatabase {
  readonly url: string;
  /** The URL without its password. */
  readonly where: string;
  readonly pool: pg.Pool;
  /** Connections with synchronous_commit = off, for usage rows. */
  readonly asyncPool: pg.Pool;
  private readonly options: Required<PostgresOptions>;

  private constructor(url: string, o: PostgresOptions) {
    this.url = url;
    this.where = redactUrl(url);
    this.options = { max: o.max ?? 10, connectTimeoutMs: o.connectTimeoutMs ?? 2000, queryTimeoutMs: o.queryTimeoutMs ?? 5000 };
    this.pool = new pg.Pool({
      connectionString: url, max: this.options.max, connectionTimeoutMillis: this.options.connectTimeoutMs,
      query_timeout: this.options.queryTimeoutMs, idleTimeoutMillis: 30_000,
    });
    this.asyncPool = new pg.Pool({
      connectionString: url, max: this.options.max, connectionTimeoutMillis: this.options.connectTimeoutMs,
      query_timeout: this.options.queryTimeoutMs, idleTimeoutMillis: 30_000, options: '-c synchronous_commit=off',
    });
    // An idle connection the server dropped (a restart) is an event, not a crash: the next query takes a new one.
    this.pool.on('error', () => {});
    this.asyncPool.on('error', () => {});
  }

  /** Connects and migrates; a server that does not answer is `database_unavailable`. */
  static async open(url: string, o: PostgresOptions = {}): Promise<PostgresDatabase> {
    if (!isPostgresUrl(url)) throw new HearthError('invalid_argument', `--database wants a postgres:// URL; got ${JSON.stringify(redactUrl(url))}`);
    const db = new PostgresDatabase(url, o);
    try {
      await db.migrate();
    } catch (e) {
      await db.close();
      throw e;
    }
    return db;
  }

  /** A new client outside the pool (LISTEN needs its own connection). */
  client(): pg.Client {
    return new pg.Client({ connectionString: this.url, connectionTimeoutMillis: this.options.connectTimeoutMs });
  }

  /** One statement in its own transaction; `durable: false` commits without waiting for the WAL flush. */
  async query<R extends pg.QueryResultRow>(sql: string, args: unknown[] = [], o: { durable?: boolean } = {}): Promise<R[]> {
    try {
      return (await (o.durable === false ? this.asyncPool : this.pool).query<R>(sql, args)).rows;
    } catch (e) {
      throw pgError(e, this.where);
    }
  }

  /** Runs fn in one transaction on one connection: all of it is committed, or none. */
  async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw pgError(e, this.where);
    }
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw pgError(e, this.where);
    } finally {
      c.release();
    }
  }

  /** The schema version (rows of hearth_schema), 0 before the first migration. */
  async version(): Promise<number> {
    const rows = await this.query<{ version: number }>('SELECT max(version) AS version FROM hearth_schema');
    return Number(rows[0]?.version ?? 0);
  }

  /**
   * Brings the schema to PG_MIGRATIONS.length in one transaction, under an advisory lock: a second replica
   * starting at the same time waits, then finds the work done. A schema newer than this build is refused.
   */
  private async migrate(): Promise<void> {
    await this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
      await c.query('CREATE TABLE IF NOT EXISTS hearth_schema (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
      const have = Number((await c.query('SELECT coalesce(max(version), 0) AS v FROM hearth_schema')).rows[0].v);
      if (have > PG_MIGRATIONS.length) {
        throw new HearthError('database_too_new',
          `database ${this.where} has schema version ${have}, newer than this hearth knows (${PG_MIGRATIONS.length}); upgrade hearth`);
      }
      for (let v = have; v < PG_MIGRATIONS.length; v++) {
        await c.query(PG_MIGRATIONS[v]);
        await c.query('INSERT INTO hearth_schema (version, applied_at) VALUES ($1, $2)', [v + 1, Date.now()]);
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
    await this.asyncPool.end().catch(() => {});
  }
}
