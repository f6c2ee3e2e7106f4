// The repository interface for what authentication, scopes, rate limits and the usage audit touch: API keys and
// usage rows. Two implementations stand behind it: the SQLite store (store/keys.ts, store/usage.ts: synchronous,
// one process) and PostgreSQL (store/postgres/: asynchronous, shared by every replica of a cluster). Callers
// await every result, so either one fits.

import type { ApiKey, NewKey, Verification } from './keys.ts';
import type { UsageEntry, UsageQuery, UsageSummaryRow, UsageTimelinePoint, UsageGroup } from './usage.ts';

export type Awaitable<T> = T | Promise<T>;

export interface KeyRepository {
  /** Stores a new key (durably); the secret is in the result and nowhere else. */
  create(o: NewKey): Awaitable<{ key: ApiKey; secret: string }>;
  get(id: string): Awaitable<ApiKey | undefined>;
  /** Every key, newest first, revoked and expired ones included. */
  list(): Awaitable<ApiKey[]>;
  /** Keys that can authenticate now. */
  activeCount(): Awaitable<number>;
  /** Revokes a key at once (durably, and on every replica); revoking a revoked key changes nothing. */
  revoke(id: string): Awaitable<ApiKey>;
  /** The key a presented secret belongs to; why not, otherwise. */
  verify(secret: string): Awaitable<Verification>;
}

export interface UsageRepository {
  /** Appends one row; committed when this returns (or its promise settles). */
  record(e: UsageEntry): Awaitable<void>;
  summary(q?: UsageQuery): Awaitable<UsageSummaryRow[]>;
  timeline(q: { since: number; bucketMs: number; by?: UsageGroup; keyId?: string }): Awaitable<UsageTimelinePoint[]>;
  /** When each key was last used (keys never used are absent). */
  lastUsed(): Awaitable<Map<string, number>>;
}

/** Keys and usage, from one database; closed together. */
export interface Repositories {
  readonly keys: KeyRepository;
  readonly usage: UsageRepository;
  /** Where they live, for messages: a file path, or a PostgreSQL URL without its password. */
  readonly where: string;
  close(): Promise<void>;
}
