// The usage audit: one row per HTTP request (key, route, model, tokens, status, duration, client address),
// and summaries of it.

import type { StatementSync } from 'node:sqlite';
import type { Database } from './database.ts';

export interface UsageEntry {
  /** Unix ms when the response ended. */
  at: number;
  keyId?: string;
  requestId?: string;
  method: string;
  route: string;
  model?: string;
  promptTokens?: number;
  completionTokens?: number;
  status: number;
  durationMs: number;
  client?: string;
  /** The upstream provider that answered (gateway); absent for a local model. */
  provider?: string;
  /** The model name the upstream was asked for. */
  upstreamModel?: string;
  /** The upstream reported no usage: the token counts are estimates. */
  tokensEstimated?: boolean;
}

export type UsageGroup = 'key' | 'route' | 'model';

export interface UsageQuery {
  keyId?: string;
  /** Unix ms; rows at or after it. */
  since?: number;
  by?: UsageGroup;
}

export interface UsageSummaryRow {
  /** The key id, route or model (null: no key, or no model). */
  group: string | null;
  requests: number;
  /** Responses with a 4xx or 5xx status. */
  errors: number;
  /** 429 responses. */
  rateLimited: number;
  promptTokens: number;
  completionTokens: number;
  meanMs: number;
  firstAt: number;
  lastAt: number;
}

export interface UsageTimelinePoint {
  /** The slot's start, Unix ms. */
  t: number;
  group: string | null;
  requests: number;
  errors: number;
  rateLimited: number;
  promptTokens: number;
  completionTokens: number;
}

const GROUP_COLUMN: Record<UsageGroup, string> = { key: 'key_id', route: 'route', model: 'model' };

export class UsageLog {
  private readonly database: Database;
  private readonly insert: StatementSync;

  constructor(database: Database) {
    this.database = database;
    this.insert = database.db.prepare(`INSERT INTO usage
      (at, key_id, request_id, method, route, model, prompt_tokens, completion_tokens, status, duration_ms, client,
       provider, upstream_model, tokens_estimated)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  }

  /** Appends one row (its own transaction: committed when this returns). */
  record(e: UsageEntry): void {
    // Requests that end while the server shuts down, after the database closed, go unrecorded.
    if (!this.database.db.isOpen) return;
    this.insert.run(e.at, e.keyId ?? null, e.requestId ?? null, e.method, e.route, e.model ?? null,
      e.promptTokens ?? null, e.completionTokens ?? null, e.status, e.durationMs, e.client ?? null,
      e.provider ?? null, e.upstreamModel ?? null, e.tokensEstimated === undefined ? null : e.tokensEstimated ? 1 : 0);
  }

  /** Totals per key (or route, or model), most requests first. */
  summary(q: UsageQuery = {}): UsageSummaryRow[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.keyId !== undefined) {
      where.push('key_id = ?');
      args.push(q.keyId);
    }
    if (q.since !== undefined) {
      where.push('at >= ?');
      args.push(q.since);
    }
    const col = GROUP_COLUMN[q.by ?? 'key'];
    const sql = `SELECT ${col} AS grp, count(*) AS requests, sum(status >= 400) AS errors, sum(status = 429) AS rate_limited,
      coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(completion_tokens), 0) AS completion_tokens,
      avg(duration_ms) AS mean_ms, min(at) AS first_at, max(at) AS last_at
      FROM usage ${where.length ? `WHERE ${where.join(' AND ')}` : ''} GROUP BY ${col} ORDER BY requests DESC, grp`;
    return (this.database.db.prepare(sql).all(...args) as Record<string, number | string | null>[]).map((r) => ({
      group: r.grp as string | null,
      requests: Number(r.requests),
      errors: Number(r.errors),
      rateLimited: Number(r.rate_limited),
      promptTokens: Number(r.prompt_tokens),
      completionTokens: Number(r.completion_tokens),
      meanMs: Number(r.mean_ms),
      firstAt: Number(r.first_at),
      lastAt: Number(r.last_at),
    }));
  }

  /**
   * Requests per `bucketMs` slot since `since`, per key (or route, or model): one point per group and slot that
   * had requests, oldest first. `t` is the slot's start (Unix ms, a multiple of bucketMs).
   */
  timeline(q: { since: number; bucketMs: number; by?: UsageGroup; keyId?: string }): UsageTimelinePoint[] {
    const col = GROUP_COLUMN[q.by ?? 'key'];
    const bucket = BigInt(Math.max(1, Math.round(q.bucketMs)));
    const args: (string | number | bigint)[] = [bucket, bucket, BigInt(Math.floor(q.since))];
    let where = 'at >= ?';
    if (q.keyId !== undefined) {
      where += ' AND key_id = ?';
      args.push(q.keyId);
    }
    const sql = `SELECT (at / ?) * ? AS t, ${col} AS grp, count(*) AS requests, sum(status >= 400) AS errors,
      sum(status = 429) AS rate_limited, coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
      coalesce(sum(completion_tokens), 0) AS completion_tokens
      FROM usage WHERE ${where} GROUP BY t, grp ORDER BY t, grp`;
    return (this.database.db.prepare(sql).all(...args) as Record<string, number | string | null>[]).map((r) => ({
      t: Number(r.t), group: r.grp as string | null, requests: Number(r.requests), errors: Number(r.errors),
      rateLimited: Number(r.rate_limited), promptTokens: Number(r.prompt_tokens), completionTokens: Number(r.completion_tokens),
    }));
  }

  /** When each key was last used (keys never used are absent). */
  lastUsed(): Map<string, number> {
    const rows = this.database.db.prepare('SELECT key_id, max(at) AS at FROM usage WHERE key_id IS NOT NULL GROUP BY key_id').all() as { key_id: string; at: number }[];
    return new Map(rows.map((r) => [r.key_id, Number(r.at)]));
  }
}
