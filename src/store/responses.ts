// Stored OpenAI Responses: one row per response created with `store: true`, holding its input items and the
// response object as JSON, so that GET /v1/responses/{id} can return it and `previous_response_id` can continue
// the conversation it ends; and one row per output item, so that a later input can name it (item_reference).
// The rows are opaque JSON here; src/api/openai/ reads and writes their shape.
//
// A response belongs to the API key that created it: with keys on, another key neither sees nor deletes it
// (a row written with authentication off has no key and is visible to every caller). Responses are kept for 30
// days by default, as OpenAI keeps them: each put() deletes the ones older than that.

import type { StatementSync } from 'node:sqlite';
import type { Database } from './database.ts';

export interface StoredResponse {
  id: string;
  /** Unix ms. */
  createdAt: number;
  keyId?: string;
  /** The response this one continues. */
  previousId?: string;
  model: string;
  /** This request's input items (wire JSON, each with its id). */
  input: unknown[];
  /** The response object as it was returned (wire JSON). */
  response: Record<string, unknown>;
}

interface Row {
  id: string;
  created_at: number;
  key_id: string | null;
  previous_id: string | null;
  model: string;
  input: string;
  response: string;
}

/** How far back a chain of previous_response_id is followed (a guard; real conversations are far shorter). */
const MAX_CHAIN = 10_000;

export const DEFAULT_RESPONSE_RETENTION_MS = 30 * 24 * 3600 * 1000;

export interface ResponseStoreOptions {
  /** How long a response is kept, in ms (default 30 days). */
  retentionMs?: number;
  /** The clock, in Unix ms. */
  now?: () => number;
}

function fromRow(r: Row): StoredResponse {
  const out: StoredResponse = {
    id: r.id, createdAt: Number(r.created_at), model: r.model,
    input: JSON.parse(r.input) as unknown[], response: JSON.parse(r.response) as Record<string, unknown>,
  };
  if (r.key_id !== null) out.keyId = r.key_id;
  if (r.previous_id !== null) out.previousId = r.previous_id;
  return out;
}

export class ResponseStore {
  private readonly database: Database;
  private readonly insert: StatementSync;
  private readonly select: StatementSync;
  private readonly remove: StatementSync;
  private readonly insertItem: StatementSync;
  private readonly selectItem: StatementSync;
  private readonly prune: StatementSync;
  private readonly retentionMs: number;
  private readonly now: () => number;

  constructor(database: Database, o: ResponseStoreOptions = {}) {
    this.database = database;
    this.retentionMs = o.retentionMs ?? DEFAULT_RESPONSE_RETENTION_MS;
    this.now = o.now ?? Date.now;
    // Output items go with their response (ON DELETE CASCADE).
    this.prune = database.db.prepare('DELETE FROM responses WHERE created_at < ?');
    this.insert = database.db.prepare(`INSERT INTO responses (id, created_at, key_id, previous_id, model, input, response)
      VALUES (?, ?, ?, ?, ?, ?, ?)`);
    // Visible to the key that wrote it, or to anyone when it was written without a key.
    this.select = database.db.prepare('SELECT * FROM responses WHERE id = ? AND (key_id IS NULL OR key_id IS ?)');
    this.remove = database.db.prepare('DELETE FROM responses WHERE id = ? AND (key_id IS NULL OR key_id IS ?)');
    this.insertItem = database.db.prepare('INSERT OR IGNORE INTO response_items (id, response_id, item) VALUES (?, ?, ?)');
    this.selectItem = database.db.prepare(`SELECT i.item FROM response_items i JOIN responses r ON r.id = i.response_id
      WHERE i.id = ? AND (r.key_id IS NULL OR r.key_id IS ?)`);
  }

  /**
   * Keeps a response and its output items (`response.output`, each with an `id`), in one transaction that also
   * drops the responses past their retention.
   */
  put(r: StoredResponse): void {
    if (!this.database.db.isOpen) return;
    const output = Array.isArray(r.response.output) ? r.response.output as unknown[] : [];
    this.database.transaction(() => {
      this.prune.run(this.now() - this.retentionMs);
      this.insert.run(r.id, r.createdAt, r.keyId ?? null, r.previousId ?? null, r.model, JSON.stringify(r.input), JSON.stringify(r.response));
      for (const item of output) {
        const id = (item as { id?: unknown } | null)?.id;
        if (typeof id === 'string') this.insertItem.run(id, r.id, JSON.stringify(item));
      }
    });
  }

  /** An output item of a stored response that `keyId` may see, by the item's id. */
  item(id: string, keyId?: string): unknown {
    const row = this.selectItem.get(id, keyId ?? null) as { item: string } | undefined;
    return row ? JSON.parse(row.item) as unknown : undefined;
  }

  /** The response, when it exists and `keyId` may see it. */
  get(id: string, keyId?: string): StoredResponse | undefined {
    const row = this.select.get(id, keyId ?? null) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Deletes the response; false when there was none that `keyId` may see. */
  delete(id: string, keyId?: string): boolean {
    return Number(this.remove.run(id, keyId ?? null).changes) > 0;
  }

  /**
   * The conversation `id` ends: it and the responses it continues, oldest first; undefined when `id` itself is
   * not there for `keyId`. A deleted response earlier in the chain ends the walk there.
   */
  chain(id: string, keyId?: string): StoredResponse[] | undefined {
    const last = this.get(id, keyId);
    if (!last) return undefined;
    const out = [last];
    for (let r = last; r.previousId !== undefined && out.length < MAX_CHAIN;) {
      const prev = this.get(r.previousId, keyId);
      if (!prev) break;
      out.push(prev);
      r = prev;
    }
    return out.reverse();
  }
}
