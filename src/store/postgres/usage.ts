// The usage audit in PostgreSQL: the same rows and summaries as store/usage.ts, every replica writing to one
// table, sorted as SQLite sorts (no key, NULL, first). record() resolves once the row is committed, with
// synchronous_commit off (database.ts says what that keeps and what a crash of the server itself can lose).

import type { UsageEntry, UsageGroup, UsageQuery, UsageSummaryRow, UsageTimelinePoint } from '../usage.ts';
import type { UsageRepository } from '../repository.ts';
import type { PostgresDatabase } from './database.ts';

const GROUP_COLUMN: Record<UsageGroup, string> = { key: 'key_id', route: 'route', model: 'model' };

type Row = Record<string, string | number | null>;

export class PgUsageLog implements UsageRepository {
  private readonly db: PostgresDatabase;

  constructor(db: PostgresDatabase) {
    this.db = db;
  }

  async record(e: UsageEntry): Promise<void> {
    await this.db.query(`INSERT INTO usage
      (at, key_id, request_id, method, route, model, prompt_tokens, completion_tokens, status, duration_ms, client,
       provider, upstream_model, tokens_estimated)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, [
      e.at, e.keyId ?? null, e.requestId ?? null, e.method, e.route, e.model ?? null, e.promptTokens ?? null,
      e.completionTokens ?? null, e.status, e.durationMs, e.client ?? null, e.provider ?? null, e.upstreamModel ?? null,
      e.tokensEstimated ?? null], { durable: false });
  }

  async summary(q: UsageQuery = {}): Promise<UsageSummaryRow[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.keyId !== undefined) {
      args.push(q.keyId);
      where.push(`key_id = $${args.length}`);
    }
    if (q.since !== undefined) {
      args.push(q.since);
      where.push(`at >= $${args.length}`);
    }
    const col = GROUP_COLUMN[q.by ?? 'key'];
    const rows = await this.db.query<Row>(`SELECT ${col} AS grp, count(*) AS requests, count(*) FILTER (WHERE status >= 400) AS errors,
      count(*) FILTER (WHERE status = 429) AS rate_limited, coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
      coalesce(sum(completion_tokens), 0) AS completion_tokens, avg(duration_ms) AS mean_ms, min(at) AS first_at, max(at) AS last_at
      FROM usage ${where.length ? `WHERE ${where.join(' AND ')}` : ''} GROUP BY ${col} ORDER BY requests DESC, grp NULLS FIRST`, args);
    return rows.map((r) => ({
      group: r.grp as string | null, requests: Number(r.requests), errors: Number(r.errors), rateLimited: Number(r.rate_limited),
      promptTokens: Number(r.prompt_tokens), completionTokens: Number(r.completion_tokens), meanMs: Number(r.mean_ms),
      firstAt: Number(r.first_at), lastAt: Number(r.last_at),
    }));
  }

  async timeline(q: { since: number; bucketMs: number; by?: UsageGroup; keyId?: string }): Promise<UsageTimelinePoint[]> {
    const col = GROUP_COLUMN[q.by ?? 'key'];
    const args: (string | number)[] = [Math.max(1, Math.round(q.bucketMs)), Math.floor(q.since)];
    let where = 'at >= $2';
    if (q.keyId !== undefined) {
      args.push(q.keyId);
      where += ' AND key_id = $3';
    }
    const rows = await this.db.query<Row>(`SELECT (at / $1::bigint) * $1::bigint AS t, ${col} AS grp, count(*) AS requests,
      count(*) FILTER (WHERE status >= 400) AS errors, count(*) FILTER (WHERE status = 429) AS rate_limited,
      coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(completion_tokens), 0) AS completion_tokens
      FROM usage WHERE ${where} GROUP BY t, grp ORDER BY t, grp NULLS FIRST`, args);
    return rows.map((r) => ({
      t: Number(r.t), group: r.grp as string | null, requests: Number(r.requests), errors: Number(r.errors),
      rateLimited: Number(r.rate_limited), promptTokens: Number(r.prompt_tokens), completionTokens: Number(r.completion_tokens),
    }));
  }

  async lastUsed(): Promise<Map<string, number>> {
    const rows = await this.db.query<{ key_id: string; at: string }>('SELECT key_id, max(at) AS at FROM usage WHERE key_id IS NOT NULL GROUP BY key_id');
    return new Map(rows.map((r) => [r.key_id, Number(r.at)]));
  }
}
