// API keys: create (the secret is returned once), list, revoke, and verify a presented secret.

import { randomBytes } from 'node:crypto';
import type { StatementSync } from 'node:sqlite';
import { HearthError } from '../util/errors.ts';
import type { Database } from './database.ts';
import { base62, hashesEqual, isWellFormed, newSecret, secretHash, secretPrefix } from './secret.ts';

export const SCOPES = ['inference', 'models:read', 'models:write', 'metrics', 'admin'] as const;
/**
 * A route scope, or `mcp:LABEL` / `mcp:*`: which MCP servers of the config file the key's requests may use (none
 * without one).
 */
export type Scope = (typeof SCOPES)[number] | `mcp:${string}`;
const MCP_SCOPE = /^mcp:(\*|[A-Za-z0-9][\w.-]{0,63})$/;
export const DEFAULT_SCOPES: readonly Scope[] = ['inference', 'models:read'];

export interface KeyLimits {
  /** Requests per rate window (a minute unless the server is told otherwise). */
  rpm?: number;
  /** Prompt + completion tokens per rate window. */
  tpm?: number;
  /** Requests in flight at once. */
  concurrency?: number;
}

export interface ApiKey extends KeyLimits {
  id: string;
  name: string;
  /** The secret's first characters, e.g. "hth_7GQx2bKp": enough to recognise a key, useless to use it. */
  prefix: string;
  scopes: Scope[];
  /** Model names this key may use; undefined: any. */
  models?: string[];
  createdAt: number;
  expiresAt?: number;
  revokedAt?: number;
}

export interface NewKey extends KeyLimits {
  name: string;
  scopes?: readonly string[];
  models?: readonly string[];
  expiresAt?: number;
}

export type KeyStatus = 'active' | 'revoked' | 'expired';

export type Verification = { ok: true; key: ApiKey } | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' | 'expired' };

interface Row {
  id: string;
  name: string;
  prefix: string;
  hash: Uint8Array;
  scopes: string;
  models: string | null;
  rpm: number | null;
  tpm: number | null;
  concurrency: number | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

const COLUMNS = 'id, name, prefix, hash, scopes, models, rpm, tpm, concurrency, created_at, expires_at, revoked_at';

function fromRow(r: Row): ApiKey {
  const key: ApiKey = { id: r.id, name: r.name, prefix: r.prefix, scopes: r.scopes.split(' ').filter(Boolean) as Scope[], createdAt: r.created_at };
  if (r.models !== null) key.models = JSON.parse(r.models) as string[];
  if (r.rpm !== null) key.rpm = r.rpm;
  if (r.tpm !== null) key.tpm = r.tpm;
  if (r.concurrency !== null) key.concurrency = r.concurrency;
  if (r.expires_at !== null) key.expiresAt = r.expires_at;
  if (r.revoked_at !== null) key.revokedAt = r.revoked_at;
  return key;
}

export function keyStatus(key: ApiKey, now: number): KeyStatus {
  if (key.revokedAt !== undefined) return 'revoked';
  if (key.expiresAt !== undefined && key.expiresAt <= now) return 'expired';
  return 'active';
}

function checkLimit(v: number | undefined, name: string): number | null {
  if (v === undefined) return null;
  if (!Number.isSafeInteger(v) || v < 1) throw new HearthError('invalid_argument', `${name} must be a positive integer; got ${v}`);
  return v;
}

/** The scopes of a new key, checked; the default when none are given. */
export function checkScopes(scopes: readonly string[] | undefined): Scope[] {
  if (scopes === undefined) return [...DEFAULT_SCOPES];
  if (scopes.length === 0) throw new HearthError('invalid_argument', `a key needs at least one scope (${SCOPES.join(', ')})`);
  for (const s of scopes) {
    if (!(SCOPES as readonly string[]).includes(s) && !MCP_SCOPE.test(s)) {
      throw new HearthError('invalid_argument', `unknown scope "${s}"; scopes are ${SCOPES.join(', ')}, and mcp:LABEL or mcp:* for MCP servers`);
    }
  }
  return [...new Set(scopes)] as Scope[];
}

export class KeyStore {
  private readonly database: Database;
  private readonly byPrefix: StatementSync;
  private readonly byId: StatementSync;
  private readonly now: () => number;

  constructor(database: Database, now: () => number = Date.now) {
    this.database = database;
    this.now = now;
    this.byPrefix = database.db.prepare(`SELECT ${COLUMNS} FROM api_keys WHERE prefix = ?`);
    this.byId = database.db.prepare(`SELECT ${COLUMNS} FROM api_keys WHERE id = ?`);
  }

  /** Stores a new key; the secret is in the result and nowhere else. */
  create(o: NewKey): { key: ApiKey; secret: string } {
    const name = o.name?.trim() ?? '';
    if (!name || name.length > 64 || /[\x00-\x1f]/.test(name)) {
      throw new HearthError('invalid_argument', 'a key name must be 1-64 printable characters');
    }
    const scopes = checkScopes(o.scopes);
    let models: string | null = null;
    if (o.models !== undefined) {
      const list = [...new Set(o.models.map((m) => m.trim()).filter(Boolean))];
      if (list.length === 0) throw new HearthError('invalid_argument', 'the model allow-list is empty; leave it out to allow any model');
      if (list.some((m) => m.length > 128)) throw new HearthError('invalid_argument', 'a model name is at most 128 characters');
      models = JSON.stringify(list);
    }
    const rpm = checkLimit(o.rpm, 'rpm');
    const tpm = checkLimit(o.tpm, 'tpm');
    const concurrency = checkLimit(o.concurrency, 'concurrency');
    const now = this.now();
    if (o.expiresAt !== undefined && (!Number.isFinite(o.expiresAt) || o.expiresAt <= now)) {
      throw new HearthError('invalid_argument', 'a key must expire in the future');
    }
    const secret = newSecret();
    const id = `key_${base62(randomBytes(8), 11)}`;
    this.database.durably(() => {
      this.database.db.prepare(`INSERT INTO api_keys (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
        id, name, secretPrefix(secret), secretHash(secret), scopes.join(' '), models, rpm, tpm, concurrency, now, o.expiresAt ?? null, null);
    });
    return { key: this.get(id)!, secret };
  }

  get(id: string): ApiKey | undefined {
    const r = this.byId.get(id) as Row | undefined;
    return r && fromRow(r);
  }

  /** Every key, newest first, revoked and expired ones included. */
  list(): ApiKey[] {
    const rows = this.database.db.prepare(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at DESC, id`).all() as unknown as Row[];
    return rows.map(fromRow);
  }

  /** Keys that can authenticate now. */
  activeCount(): number {
    const now = this.now();
    const r = this.database.db.prepare('SELECT count(*) AS n FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)').get(now) as { n: number };
    return Number(r.n);
  }

  /** Revokes a key at once (durably); revoking a revoked key changes nothing. */
  revoke(id: string): ApiKey {
    const key = this.get(id);
    if (!key) throw new HearthError('not_found', `no key with id "${id}"`);
    if (key.revokedAt !== undefined) return key;
    this.database.durably(() => {
      this.database.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(this.now(), id);
    });
    return this.get(id)!;
  }

  /** The key a presented secret belongs to, compared by SHA-256 in constant time; why not, otherwise. */
  verify(secret: string): Verification {
    if (!isWellFormed(secret)) return { ok: false, reason: 'malformed' };
    const hash = secretHash(secret);
    const rows = this.byPrefix.all(secretPrefix(secret)) as unknown as Row[];
    for (const r of rows) {
      if (!hashesEqual(hash, r.hash)) continue;
      const key = fromRow(r);
      const status = keyStatus(key, this.now());
      return status === 'active' ? { ok: true, key } : { ok: false, reason: status };
    }
    return { ok: false, reason: 'unknown' };
  }
}
