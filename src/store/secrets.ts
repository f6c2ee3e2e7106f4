// Provider secrets (`hearth secrets set NAME`): encrypted at rest with AES-256-GCM under a key that lives in its own
// file beside the database (HEARTH_SECRET_KEY, else HEARTH_HOME/secret.key, mode 0600), so that a copy of the database
// alone reveals no secret. The name is the authenticated data: a ciphertext moved to another name does not decrypt.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { HearthError } from '../util/errors.ts';
import type { Database } from './database.ts';

/** The key file: HEARTH_SECRET_KEY, else secret.key in HEARTH_HOME (default ~/.hearth). */
export function secretKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.HEARTH_SECRET_KEY ?? join(env.HEARTH_HOME ?? join(homedir(), '.hearth'), 'secret.key');
}

/** The 32-byte key in `path` (hex), created with mode 0600 when `create` and absent. */
export function loadSecretKey(path: string, create: boolean): Buffer | undefined {
  if (!existsSync(path)) {
    if (!create) return undefined;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  }
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
  if (key.length !== 32) throw new HearthError('invalid_argument', `${path} is not a secret key (64 hex digits)`);
  try { chmodSync(path, 0o600); } catch { /* a read-only file system keeps its mode */ }
  return key;
}

export const SECRET_NAME = /^[A-Za-z_][\w.-]{0,63}$/;

export interface SecretInfo {
  name: string;
  createdAt: number;
  updatedAt: number;
}

export class SecretStore {
  private readonly database: Database;
  private readonly keyPath: string;
  private readonly now: () => number;

  constructor(database: Database, keyPath: string = secretKeyPath(), now: () => number = Date.now) {
    this.database = database;
    this.keyPath = keyPath;
    this.now = now;
  }

  private key(create: boolean): Buffer | undefined {
    return loadSecretKey(this.keyPath, create);
  }

  set(name: string, value: string): void {
    if (!SECRET_NAME.test(name)) throw new HearthError('invalid_argument', `secret name "${name}" must be 1-64 letters, digits or _ . - (starting with a letter or _)`);
    if (!value) throw new HearthError('invalid_argument', 'the secret is empty');
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key(true)!, iv);
    cipher.setAAD(Buffer.from(name));
    const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    const t = this.now();
    this.database.db.prepare(`INSERT INTO secrets (name, iv, tag, ciphertext, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (name) DO UPDATE SET iv = excluded.iv, tag = excluded.tag, ciphertext = excluded.ciphertext, updated_at = excluded.updated_at`)
      .run(name, iv, cipher.getAuthTag(), ciphertext, t, t);
  }

  /** The secret's value, or undefined when there is none of that name. */
  get(name: string): string | undefined {
    const row = this.database.db.prepare('SELECT iv, tag, ciphertext FROM secrets WHERE name = ?').get(name) as
      { iv: Uint8Array; tag: Uint8Array; ciphertext: Uint8Array } | undefined;
    if (!row) return undefined;
    const key = this.key(false);
    if (!key) throw new HearthError('invalid_argument', `secret "${name}" is stored, but its key file ${this.keyPath} is missing`);
    try {
      const d = createDecipheriv('aes-256-gcm', key, row.iv);
      d.setAAD(Buffer.from(name));
      d.setAuthTag(row.tag);
      return Buffer.concat([d.update(row.ciphertext), d.final()]).toString('utf8');
    } catch {
      throw new HearthError('invalid_argument', `secret "${name}" does not decrypt with the key in ${this.keyPath} (a different key file?)`);
    }
  }

  list(): SecretInfo[] {
    return (this.database.db.prepare('SELECT name, created_at, updated_at FROM secrets ORDER BY name').all() as
      { name: string; created_at: number; updated_at: number }[]).map((r) => ({ name: r.name, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) }));
  }

  /** False when there was none of that name. */
  remove(name: string): boolean {
    return Number(this.database.db.prepare('DELETE FROM secrets WHERE name = ?').run(name).changes) > 0;
  }
}
