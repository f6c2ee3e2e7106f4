// Image-analysis batches (POST /api/v1/batch): one row per job and one per item, in order. An item is claimed
// (pending → running, attempts + 1) before it runs and written with its result or error when it ends, each a
// transaction of its own, so a server that stops mid-job finds on restart exactly the items that never finished:
// a finished item is never run again. An item's image is kept until the item is done. Results and errors are
// opaque JSON here (the server's analysis shape).
//
// A job belongs to the API key that created it: with keys on, another key neither sees nor cancels it (a job
// created with authentication off has no key and is visible to every caller), as stored responses.

import type { StatementSync } from 'node:sqlite';
import type { Database } from './database.ts';

export type BatchStatus = 'running' | 'completed' | 'cancelled';
export type BatchItemStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface NewBatch {
  id: string;
  keyId?: string;
  model: string;
  prompt?: string;
  /** The items' shared generation options (JSON). */
  options: Record<string, unknown>;
  concurrency: number;
  items: { image: Uint8Array; prompt?: string }[];
}

export interface BatchItem {
  seq: number;
  status: BatchItemStatus;
  prompt?: string;
  /** Runs this item was started on (more than one only where a server stopped while it ran). */
  attempts: number;
  result?: unknown;
  error?: { code: string; message: string };
  startedAt?: number;
  finishedAt?: number;
}

export interface Batch {
  id: string;
  keyId?: string;
  model: string;
  prompt?: string;
  options: Record<string, unknown>;
  concurrency: number;
  status: BatchStatus;
  total: number;
  createdAt: number;
  finishedAt?: number;
  /** Items by status. */
  counts: Record<BatchItemStatus, number>;
}

/** The next item to run: its place, image and prompt. */
export interface ClaimedItem {
  seq: number;
  image: Uint8Array;
  prompt?: string;
  attempts: number;
}

interface BatchRow {
  id: string; key_id: string | null; model: string; prompt: string | null; options: string; concurrency: number;
  status: BatchStatus; total: number; created_at: number; finished_at: number | null;
}

interface ItemRow {
  seq: number; status: BatchItemStatus; prompt: string | null; attempts: number; result: string | null; error: string | null;
  started_at: number | null; finished_at: number | null;
}

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

export class BatchStore {
  private readonly database: Database;
  private readonly now: () => number;
  private readonly s: Record<string, StatementSync>;

  constructor(database: Database, now: () => number = Date.now) {
    this.database = database;
    this.now = now;
    const p = (sql: string) => database.db.prepare(sql);
    this.s = {
      insert: p(`INSERT INTO batches (id, key_id, model, prompt, options, concurrency, status, total, created_at)
        VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)`),
      insertItem: p(`INSERT INTO batch_items (batch_id, seq, image, prompt, status) VALUES (?, ?, ?, ?, 'pending')`),
      select: p('SELECT * FROM batches WHERE id = ? AND (key_id IS NULL OR key_id IS ?)'),
      selectAny: p('SELECT * FROM batches WHERE id = ?'),
      counts: p('SELECT status, COUNT(*) AS n FROM batch_items WHERE batch_id = ? GROUP BY status'),
      items: p(`SELECT seq, status, prompt, attempts, result, error, started_at, finished_at FROM batch_items
        WHERE batch_id = ? ORDER BY seq`),
      next: p(`SELECT seq, image, prompt, attempts FROM batch_items WHERE batch_id = ? AND status = 'pending' ORDER BY seq LIMIT 1`),
      claim: p(`UPDATE batch_items SET status = 'running', attempts = attempts + 1, started_at = ? WHERE batch_id = ? AND seq = ?`),
      complete: p(`UPDATE batch_items SET status = 'completed', result = ?, image = NULL, finished_at = ?
        WHERE batch_id = ? AND seq = ? AND status = 'running'`),
      fail: p(`UPDATE batch_items SET status = 'failed', error = ?, image = NULL, finished_at = ?
        WHERE batch_id = ? AND seq = ? AND status = 'running'`),
      release: p(`UPDATE batch_items SET status = 'pending' WHERE batch_id = ? AND seq = ? AND status = 'running'`),
      cancelItems: p(`UPDATE batch_items SET status = 'cancelled', image = NULL, finished_at = ? WHERE batch_id = ? AND status IN ('pending', 'running')`),
      setStatus: p(`UPDATE batches SET status = ?, finished_at = ? WHERE id = ? AND status = 'running'`),
      unfinished: p(`SELECT id FROM batches WHERE status = 'running' ORDER BY created_at`),
      requeue: p(`UPDATE batch_items SET status = 'pending' WHERE batch_id = ? AND status = 'running'`),
    };
  }

  /** Stores a new job with its items, all pending, in one transaction. */
  create(b: NewBatch): Batch {
    const at = this.now();
    this.database.transaction(() => {
      this.s.insert.run(b.id, b.keyId ?? null, b.model, b.prompt ?? null, JSON.stringify(b.options), b.concurrency, b.items.length, at);
      b.items.forEach((it, seq) => this.s.insertItem.run(b.id, seq, it.image, it.prompt ?? null));
    });
    return this.get(b.id, null)!;
  }

  /** The job, when it exists and `keyId` may see it (undefined keyId: a caller without a key, or the server itself). */
  get(id: string, keyId?: string | null): Batch | undefined {
    const row = (keyId === null ? this.s.selectAny.get(id) : this.s.select.get(id, keyId ?? null)) as BatchRow | undefined;
    if (!row) return undefined;
    const counts: Record<BatchItemStatus, number> = { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
    for (const c of this.s.counts.all(id) as { status: BatchItemStatus; n: number }[]) counts[c.status] = Number(c.n);
    return {
      id: row.id, keyId: opt(row.key_id), model: row.model, prompt: opt(row.prompt), options: JSON.parse(row.options) as Record<string, unknown>,
      concurrency: Number(row.concurrency), status: row.status, total: Number(row.total), createdAt: Number(row.created_at),
      finishedAt: row.finished_at === null ? undefined : Number(row.finished_at), counts,
    };
  }

  /** The job's items in order, without their images. */
  items(id: string): BatchItem[] {
    return (this.s.items.all(id) as unknown as ItemRow[]).map((r) => ({
      seq: Number(r.seq), status: r.status, prompt: opt(r.prompt), attempts: Number(r.attempts),
      ...(r.result !== null ? { result: JSON.parse(r.result) as unknown } : {}),
      ...(r.error !== null ? { error: JSON.parse(r.error) as { code: string; message: string } } : {}),
      startedAt: r.started_at === null ? undefined : Number(r.started_at),
      finishedAt: r.finished_at === null ? undefined : Number(r.finished_at),
    }));
  }

  /** Marks the first pending item running (one more attempt) and returns it; undefined when none is pending. */
  claim(id: string): ClaimedItem | undefined {
    return this.database.transaction(() => {
      const r = this.s.next.get(id) as { seq: number; image: Uint8Array | null; prompt: string | null; attempts: number } | undefined;
      if (!r) return undefined;
      this.s.claim.run(this.now(), id, r.seq);
      return { seq: Number(r.seq), image: r.image ?? new Uint8Array(0), prompt: opt(r.prompt), attempts: Number(r.attempts) + 1 };
    });
  }

  /** A running item's result; false when it was no longer running (cancelled meanwhile). */
  complete(id: string, seq: number, result: unknown): boolean {
    return Number(this.s.complete.run(JSON.stringify(result), this.now(), id, seq).changes) === 1;
  }

  fail(id: string, seq: number, error: { code: string; message: string }): boolean {
    return Number(this.s.fail.run(JSON.stringify(error), this.now(), id, seq).changes) === 1;
  }

  /** A running item back to pending (its run was stopped before it finished: the server is closing). */
  release(id: string, seq: number): void {
    this.s.release.run(id, seq);
  }

  /** Cancels a running job: its unfinished items are cancelled, finished ones keep their results. False: not running. */
  cancel(id: string): boolean {
    return this.database.transaction(() => {
      const at = this.now();
      if (Number(this.s.setStatus.run('cancelled', at, id).changes) !== 1) return false;
      this.s.cancelItems.run(at, id);
      return true;
    });
  }

  /** Marks a running job completed (every item finished). */
  finish(id: string): boolean {
    return Number(this.s.setStatus.run('completed', this.now(), id).changes) === 1;
  }

  /**
   * The ids of jobs still running, oldest first, with the items a stopped server left running put back to pending
   * (their runs never finished, so nothing finished runs twice). For a server starting on the database.
   */
  recover(): string[] {
    return this.database.transaction(() => {
      const ids = (this.s.unfinished.all() as { id: string }[]).map((r) => r.id);
      for (const id of ids) this.s.requeue.run(id);
      return ids;
    });
  }
}
