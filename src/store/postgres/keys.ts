// API keys in PostgreSQL, shared by every replica, with a cache of verified keys invalidated by LISTEN/NOTIFY.
//
// verify() answers from the cache while this replica's LISTEN connection is up: a revocation commits with a
// NOTIFY in the same transaction, and every replica drops the key as the notification arrives (milliseconds on
// a LAN), so a revoked key stops working everywhere well within a second. While the LISTEN connection is down
// the cache is emptied and bypassed, every verify() asks the database, and a database that does not answer is
// `database_unavailable` (503): authentication fails closed. Unknown secrets are never cached, so a key created
// through one replica works through another at once. Entries also expire after `ttlMs` (default 60 s), and a
// query that raced a notification is not cached (the generation counter). The LISTEN connection is pinged every
// `heartbeatMs` (default 1 s): one that does not answer within that time is taken as down, so a connection that
// died silently (no reset) stops the cache within about two heartbeats.

import { createHash } from 'node:crypto';
import type pg from 'pg';
import { HearthError } from '../../util/errors.ts';
import { KEY_COLUMNS, keyFromRow, matchSecret, prepareKey, type ApiKey, type KeyRow, type NewKey, type Verification } from '../keys.ts';
import { isWellFormed, secretPrefix } from '../secret.ts';
import type { KeyRepository } from '../repository.ts';
import type { PostgresDatabase } from './database.ts';

export const KEYS_CHANNEL = 'hearth_keys';

export interface PgKeyOptions {
  now?: () => number;
  /** How long a cached key is trusted without a notification (default 60 000 ms). */
  ttlMs?: number;
  /** Keys cached at most (default 10 000). */
  maxEntries?: number;
  /** How often the LISTEN connection is pinged, and how long a ping may take (default 1000 ms). */
  heartbeatMs?: number;
  /** Told when the LISTEN connection goes down or comes back. */
  onListen?: (up: boolean, err?: Error) => void;
}

interface PgKeyRow extends Omit<KeyRow, 'created_at' | 'expires_at' | 'revoked_at' | 'hash'> {
  hash: Buffer;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

function toKeyRow(r: PgKeyRow): KeyRow {
  const n = (v: string | null) => (v === null ? null : Number(v));
  return { ...r, hash: new Uint8Array(r.hash), created_at: Number(r.created_at), expires_at: n(r.expires_at), revoked_at: n(r.revoked_at) };
}

interface Cached {
  row: KeyRow;
  at: number;
}

export class PgKeyStore implements KeyRepository {
  private readonly db: PostgresDatabase;
  private readonly now: () => number;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly onListen?: (up: boolean, err?: Error) => void;
  /** Verified rows by the secret's SHA-256 (hex). */
  private readonly cache = new Map<string, Cached>();
  private generation = 0;
  private listener?: pg.Client;
  private listening = false;
  private closed = false;
  private retryMs = 250;
  private retryTimer?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;
  private readonly heartbeatMs: number;

  constructor(db: PostgresDatabase, o: PgKeyOptions = {}) {
    this.db = db;
    this.now = o.now ?? Date.now;
    this.ttlMs = o.ttlMs ?? 60_000;
    this.maxEntries = o.maxEntries ?? 10_000;
    this.heartbeatMs = o.heartbeatMs ?? 1000;
    this.onListen = o.onListen;
  }

  /** Starts listening for key changes; resolves once listening (or after the first failure, retrying behind). */
  async listen(): Promise<void> {
    if (this.closed) return;
    const c = this.db.client();
    this.listener = c;
    c.on('notification', (m) => {
      if (m.channel === KEYS_CHANNEL) this.invalidate(m.payload);
    });
    const down = (err?: Error) => {
      if (this.listener !== c) return;
      this.listener = undefined;
      const was = this.listening;
      this.listening = false;
      clearInterval(this.heartbeat);
      this.invalidate();
      c.end().catch(() => {});
      if (was) this.onListen?.(false, err);
      if (!this.closed) {
        this.retryTimer = setTimeout(() => void this.listen(), this.retryMs);
        this.retryMs = Math.min(5000, this.retryMs * 2);
      }
    };
    c.on('error', (err) => down(err));
    c.on('end', () => down());
    try {
      await c.connect();
      await c.query(`LISTEN ${KEYS_CHANNEL}`);
    } catch (e) {
      down(e as Error);
      return;
    }
    if (this.listener !== c) return;
    // Whatever changed while we were not listening is unknown: start from an empty cache.
    this.invalidate();
    this.listening = true;
    this.retryMs = 250;
    let pinging = false;
    this.heartbeat = setInterval(() => {
      if (pinging) return down(new Error(`the key-change connection did not answer within ${this.heartbeatMs} ms`));
      pinging = true;
      c.query('SELECT 1').then(() => (pinging = false), (err: Error) => down(err));
    }, this.heartbeatMs);
    this.heartbeat.unref();
    this.onListen?.(true);
  }

  /** Whether cached answers are in use (the LISTEN connection is up). */
  get caching(): boolean {
    return this.listening;
  }

  /** Drops one key (by id) or every key from the cache. */
  private invalidate(id?: string): void {
    this.generation++;
    if (id === undefined) {
      this.cache.clear();
      return;
    }
    for (const [h, c] of this.cache) if (c.row.id === id) this.cache.delete(h);
  }

  async create(o: NewKey): Promise<{ key: ApiKey; secret: string }> {
    const { row, secret } = prepareKey(o, this.now());
    await this.db.query(`INSERT INTO api_keys (${KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, [
      row.id, row.name, row.prefix, Buffer.from(row.hash), row.scopes, row.models, row.rpm, row.tpm, row.concurrency,
      row.created_at, row.expires_at, null]);
    return { key: keyFromRow(row), secret };
  }

  async get(id: string): Promise<ApiKey | undefined> {
    const rows = await this.db.query<PgKeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = $1`, [id]);
    return rows[0] && keyFromRow(toKeyRow(rows[0]));
  }

  async list(): Promise<ApiKey[]> {
    const rows = await this.db.query<PgKeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at DESC, id`);
    return rows.map((r) => keyFromRow(toKeyRow(r)));
  }

  async activeCount(): Promise<number> {
    const rows = await this.db.query<{ n: string }>(
      'SELECT count(*) AS n FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)', [this.now()]);
    return Number(rows[0].n);
  }

  async revoke(id: string): Promise<ApiKey> {
    const key = await this.db.transaction(async (c) => {
      const r = await c.query<PgKeyRow>(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1 RETURNING ${KEY_COLUMNS}`, [id, this.now()]);
      if (r.rows.length === 0) throw new HearthError('not_found', `no key with id "${id}"`);
      // Delivered to every listening replica when this transaction commits.
      await c.query('SELECT pg_notify($1, $2)', [KEYS_CHANNEL, id]);
      return keyFromRow(toKeyRow(r.rows[0]));
    });
    this.invalidate(id);
    return key;
  }

  async verify(secret: string): Promise<Verification> {
    if (!isWellFormed(secret)) return { ok: false, reason: 'malformed' };
    const now = this.now();
    const hash = createHash('sha256').update(secret).digest('hex');
    if (this.listening) {
      const c = this.cache.get(hash);
      if (c && now - c.at < this.ttlMs) return matchSecret(secret, [c.row], now);
    }
    const generation = this.generation;
    const rows = (await this.db.query<PgKeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE prefix = $1`, [secretPrefix(secret)])).map(toKeyRow);
    const v = matchSecret(secret, rows, now);
    if (v.ok && this.listening && generation === this.generation) {
      if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(hash, { row: rows.find((r) => r.id === v.key.id)!, at: now });
    }
    return v;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    const c = this.listener;
    this.listener = undefined;
    this.listening = false;
    await c?.end().catch(() => {});
  }
}
