// Conversations: one row per conversation, its items in order (every message, call, call output and reasoning
// item a turn added), and the rolling summaries that compression wrote over its oldest spans. Compression only
// adds summaries: items are never deleted except by the client (DELETE an item, or the whole conversation).
// Items and summaries are indexed for keyword search (FTS5, ranked by BM25).
//
// The rows are opaque JSON here; src/api/openai/ reads and writes their shape. A conversation belongs to the API
// key that created it, as a stored response does: another key neither sees, continues nor deletes it.

import type { StatementSync } from 'node:sqlite';
import type { Database } from './database.ts';

export interface StoredConversation {
  id: string;
  /** Unix ms. */
  createdAt: number;
  keyId?: string;
  metadata: Record<string, string>;
}

/** An item with its place in the conversation. */
export interface StoredItem {
  seq: number;
  id: string;
  item: Record<string, unknown>;
}

/** A new item: its id, its JSON, and the text search indexes. */
export interface NewItem {
  id: string;
  item: Record<string, unknown>;
  text: string;
}

export interface StoredSummary {
  id: number;
  fromSeq: number;
  throughSeq: number;
  turns: number;
  text: string;
  model: string;
  createdAt: number;
}

export interface SearchHit {
  /** BM25 relevance, higher is better. */
  score: number;
  item?: StoredItem;
  summary?: StoredSummary;
}

interface ConversationRow { id: string; created_at: number; key_id: string | null; metadata: string }

const conversationOf = (r: ConversationRow): StoredConversation => ({
  id: r.id, createdAt: Number(r.created_at), metadata: JSON.parse(r.metadata) as Record<string, string>,
  ...(r.key_id !== null ? { keyId: r.key_id } : {}),
});

interface SummaryRow {
  id: number; from_seq: number; through_seq: number; turns: number; text: string; model: string; created_at: number;
}

const summaryOf = (r: SummaryRow): StoredSummary => ({
  id: Number(r.id), fromSeq: Number(r.from_seq), throughSeq: Number(r.through_seq), turns: Number(r.turns), text: r.text,
  model: r.model, createdAt: Number(r.created_at),
});

/** Words of a search query as an FTS5 expression: each quoted (no operator syntax reaches FTS5), any of them. */
export function ftsQuery(q: string): string | undefined {
  const words = q.match(/[\p{L}\p{N}_]+/gu);
  return words?.length ? words.map((w) => `"${w}"`).join(' OR ') : undefined;
}

export class ConversationStore {
  private readonly database: Database;
  private readonly now: () => number;
  private readonly s: Record<string, StatementSync>;

  constructor(database: Database, now: () => number = Date.now) {
    this.database = database;
    this.now = now;
    const p = (sql: string) => database.db.prepare(sql);
    // Visible to the key that wrote it, or to anyone when it was written without a key.
    const mine = 'id = ? AND (key_id IS NULL OR key_id IS ?)';
    this.s = {
      insert: p('INSERT INTO conversations (id, created_at, key_id, metadata) VALUES (?, ?, ?, ?)'),
      select: p(`SELECT * FROM conversations WHERE ${mine}`),
      update: p(`UPDATE conversations SET metadata = ? WHERE ${mine}`),
      remove: p(`DELETE FROM conversations WHERE ${mine}`),
      insertItem: p('INSERT INTO conversation_items (conversation_id, id, item, text) VALUES (?, ?, ?, ?)'),
      hasItem: p('SELECT 1 FROM conversation_items WHERE conversation_id = ? AND id = ?'),
      items: p('SELECT seq, id, item FROM conversation_items WHERE conversation_id = ? ORDER BY seq'),
      item: p('SELECT seq, id, item FROM conversation_items WHERE conversation_id = ? AND id = ?'),
      removeItem: p('DELETE FROM conversation_items WHERE conversation_id = ? AND id = ?'),
      latestSummary: p('SELECT * FROM conversation_summaries WHERE conversation_id = ? ORDER BY through_seq DESC, id DESC LIMIT 1'),
      summaries: p('SELECT * FROM conversation_summaries WHERE conversation_id = ? ORDER BY id'),
      insertSummary: p(`INSERT INTO conversation_summaries (conversation_id, from_seq, through_seq, turns, text, model, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
      search: p(`SELECT rowid, bm25(conversation_search) AS rank FROM conversation_search
        WHERE conversation_search MATCH ? AND conversation_id = ? ORDER BY rank LIMIT ?`),
      itemBySeq: p('SELECT seq, id, item FROM conversation_items WHERE seq = ?'),
      summaryById: p('SELECT * FROM conversation_summaries WHERE id = ?'),
      list: p(`SELECT * FROM conversations WHERE (key_id IS NULL OR key_id IS ?) ORDER BY created_at DESC, id DESC LIMIT ?`),
      // conversations of the key with an item or summary matching the words, or whose metadata does (title)
      listMatching: p(`SELECT * FROM conversations c WHERE (c.key_id IS NULL OR c.key_id IS ?) AND (instr(lower(c.metadata), lower(?)) > 0
        OR c.id IN (SELECT conversation_id FROM conversation_search WHERE conversation_search MATCH ?))
        ORDER BY c.created_at DESC, c.id DESC LIMIT ?`),
    };
  }

  /** A new conversation with its first items, in one transaction. */
  create(c: StoredConversation, items: NewItem[] = []): void {
    this.database.transaction(() => {
      this.s.insert.run(c.id, c.createdAt, c.keyId ?? null, JSON.stringify(c.metadata));
      this.insertItems(c.id, items);
    });
  }

  get(id: string, keyId?: string): StoredConversation | undefined {
    const r = this.s.select.get(id, keyId ?? null) as ConversationRow | undefined;
    return r && conversationOf(r);
  }

  /**
   * The conversations `keyId` may see, newest first; with `q`, those whose items, summaries (any of the words,
   * FTS5) or metadata (the whole text, case-insensitive) match it.
   */
  list(keyId: string | undefined, o: { q?: string; limit: number }): StoredConversation[] {
    const expr = o.q === undefined ? undefined : ftsQuery(o.q);
    const rows = o.q === undefined || o.q.trim() === ''
      ? this.s.list.all(keyId ?? null, o.limit)
      : this.s.listMatching.all(keyId ?? null, o.q.trim(), expr ?? '""', o.limit);
    return (rows as unknown as ConversationRow[]).map(conversationOf);
  }

  /** Replaces the metadata; false when there is no such conversation for `keyId`. */
  setMetadata(id: string, metadata: Record<string, string>, keyId?: string): boolean {
    return Number(this.s.update.run(JSON.stringify(metadata), id, keyId ?? null).changes) > 0;
  }

  /** Deletes the conversation with its items and summaries; false when there was none for `keyId`. */
  delete(id: string, keyId?: string): boolean {
    return this.database.transaction(() => Number(this.s.remove.run(id, keyId ?? null).changes) > 0);
  }

  private insertItems(conversationId: string, items: NewItem[]): void {
    for (const i of items) this.s.insertItem.run(conversationId, i.id, JSON.stringify(i.item), i.text);
  }

  /** Whether the conversation already holds an item with this id. */
  hasItem(conversationId: string, itemId: string): boolean {
    return this.s.hasItem.get(conversationId, itemId) !== undefined;
  }

  /**
   * Appends items in one transaction: a turn's input and output go in together or not at all, so a crash
   * leaves the conversation as it was before the turn, never half of it.
   */
  append(conversationId: string, items: NewItem[]): void {
    if (!this.database.db.isOpen || items.length === 0) return;
    this.database.transaction(() => this.insertItems(conversationId, items));
  }

  /** Every item, oldest first. */
  items(conversationId: string): StoredItem[] {
    return (this.s.items.all(conversationId) as { seq: number; id: string; item: string }[]).map((r) => ({
      seq: Number(r.seq), id: r.id, item: JSON.parse(r.item) as Record<string, unknown>,
    }));
  }

  item(conversationId: string, itemId: string): StoredItem | undefined {
    const r = this.s.item.get(conversationId, itemId) as { seq: number; id: string; item: string } | undefined;
    return r ? { seq: Number(r.seq), id: r.id, item: JSON.parse(r.item) as Record<string, unknown> } : undefined;
  }

  /** Deletes one item (a client's decision; compression never does); false when there was none. */
  deleteItem(conversationId: string, itemId: string): boolean {
    return this.database.transaction(() => Number(this.s.removeItem.run(conversationId, itemId).changes) > 0);
  }

  /** The summary that covers the most of the conversation, if compression has written one. */
  latestSummary(conversationId: string): StoredSummary | undefined {
    const r = this.s.latestSummary.get(conversationId) as SummaryRow | undefined;
    return r ? summaryOf(r) : undefined;
  }

  /** Every summary, in the order they were written. */
  summaries(conversationId: string): StoredSummary[] {
    return (this.s.summaries.all(conversationId) as unknown as SummaryRow[]).map(summaryOf);
  }

  addSummary(conversationId: string, s: Omit<StoredSummary, 'id' | 'createdAt'>): StoredSummary {
    const createdAt = this.now();
    const row = this.database.transaction(() => this.s.insertSummary.get(
      conversationId, s.fromSeq, s.throughSeq, s.turns, s.text, s.model, createdAt,
    ) as { id: number });
    return { ...s, id: Number(row.id), createdAt };
  }

  /** Items and summaries matching any word of `q`, best first (BM25). */
  search(conversationId: string, q: string, limit: number): SearchHit[] {
    const expr = ftsQuery(q);
    if (expr === undefined) return [];
    const rows = this.s.search.all(expr, conversationId, limit) as { rowid: number; rank: number }[];
    const out: SearchHit[] = [];
    for (const r of rows) {
      const rowid = Number(r.rowid);
      const score = -Number(r.rank);
      if (rowid > 0) {
        const i = this.s.itemBySeq.get(rowid) as { seq: number; id: string; item: string } | undefined;
        if (i) out.push({ score, item: { seq: Number(i.seq), id: i.id, item: JSON.parse(i.item) as Record<string, unknown> } });
      } else {
        const sr = this.s.summaryById.get(-rowid) as SummaryRow | undefined;
        if (sr) out.push({ score, summary: summaryOf(sr) });
      }
    }
    return out;
  }
}
