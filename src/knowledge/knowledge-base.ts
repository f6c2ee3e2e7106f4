// The knowledge base in OpenAI's Files and Vector Stores shapes, kept in the hearth database: uploaded files
// (their bytes in SQLite, in one transaction with their metadata), vector stores (each bound to one embedding
// model), the ingest job of each attached file, and hybrid search over the chunks.
//
// Ingest: extract text → chunk by the model's tokens → embed in batches; each batch of chunks is committed in
// its own transaction with its sequence numbers, so an ingest killed midway resumes (resume(), at start) from
// the first chunk it had not committed: chunking is deterministic, nothing is embedded twice or lost. A file
// whose content hash is already completed in the store is not embedded again: its chunks are copied.
//
// Search: BM25 over FTS5 (common terms out of the any-word pass, large passes capped) and cosine similarity
// (VectorIndex: exact, sqlite-vec or LanceDB), each list 50 deep after the attribute filter, fused by reciprocal
// rank (k = 60).

import { createHash, randomBytes } from 'node:crypto';
import type { StatementSync } from 'node:sqlite';
import type { Database } from '../store/database.ts';
import { HearthError } from '../util/errors.ts';
import { chunkText, checkChunking, DEFAULT_CHUNK_OVERLAP, DEFAULT_MAX_CHUNK_TOKENS, type ChunkingOptions } from './chunk.ts';
import { ExtractError, extractText } from './extract.ts';
import { matches, type Attributes, type Filter } from './filters.ts';
import { ExactVectorIndex, normalize, vectorBlob } from './vector-index.ts';
import type { EmbedderSource, VectorIndex } from './types.ts';

export interface StoredFile {
  id: string;
  filename: string;
  purpose: string;
  bytes: number;
  sha256: string;
  createdAt: number;
}

export interface VectorStore {
  id: string;
  name: string;
  model: string;
  metadata: Record<string, string>;
  createdAt: number;
  lastActiveAt: number;
}

export type IngestStatus = 'in_progress' | 'completed' | 'failed';

export interface StoreFile {
  storeId: string;
  fileId: string;
  status: IngestStatus;
  lastError?: { code: string; message: string };
  attributes: Attributes;
  chunking: ChunkingOptions;
  chunks: number;
  usageBytes: number;
  createdAt: number;
}

export interface FileCounts {
  in_progress: number;
  completed: number;
  failed: number;
  cancelled: number;
  total: number;
}

export type SearchMode = 'hybrid' | 'keyword' | 'vector';

export interface SearchOptions {
  query: string;
  maxResults?: number;
  filter?: Filter;
  scoreThreshold?: number;
  mode?: SearchMode;
}

export interface SearchHit {
  chunkId: number;
  fileId: string;
  filename: string;
  score: number;
  attributes: Attributes;
  text: string;
}

/** How deep each ranked list goes before fusion (OpenAI's max_num_results is at most 50). */
export const CANDIDATES = 50;
/** A term in more than this share of the chunks (of a database of at least COMMON_MIN_CHUNKS) is common (ftsQueries). */
export const COMMON_TERM_SHARE = 0.2;
const COMMON_MIN_CHUNKS = 1000;
/**
 * The most keyword matches one pass ranks by BM25: a pass whose terms' document counts say it matches more (an
 * AND of common words) ranks its first KEYWORD_CANDIDATE_CAP matches (in rowid order) instead of all of them.
 */
export const KEYWORD_CANDIDATE_CAP = 5000;
/** Reciprocal rank fusion's constant: score = Σ 1 / (RRF_K + rank). */
export const RRF_K = 60;
const EMBED_BATCH = 8;
/** Errors an ingest waits out (the model still loading at start, a full queue) rather than failing the file. */
const TRANSIENT = new Set(['unavailable', 'queue_full']);
const MAX_WAIT_MS = 10 * 60_000;
/** The largest file (and extracted text) an ingest takes; a larger one fails with a reason. */
export const DEFAULT_MAX_INGEST_BYTES = 64 * 1024 * 1024;

export interface KnowledgeBaseOptions {
  embedders: EmbedderSource;
  index?: VectorIndex;
  /** The keyword rules (COMMON_TERM_SHARE, KEYWORD_CANDIDATE_CAP); Infinity turns one off (the benchmark's "before"). */
  commonTermShare?: number;
  keywordCandidateCap?: number;
  /** Files (and extracted texts) larger than this fail to ingest, saying so (default DEFAULT_MAX_INGEST_BYTES). */
  maxIngestBytes?: number;
  now?: () => number;
  /** Called when an ingest job settles (tests and the CLI wait on it). */
  onSettled?: (f: StoreFile) => void;
}

const newId = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;

interface FileRow { id: string; filename: string; purpose: string; bytes: number; sha256: string; created_at: number }
interface StoreRow { id: string; name: string; model: string; metadata: string; created_at: number; last_active: number }
interface StoreFileRow {
  store_id: string; file_id: string; status: string; last_error: string | null; attributes: string; max_tokens: number;
  overlap: number; sha256: string; chunks: number; usage_bytes: number; created_at: number;
}

const fileOf = (r: FileRow): StoredFile => ({ id: r.id, filename: r.filename, purpose: r.purpose, bytes: Number(r.bytes), sha256: r.sha256, createdAt: Number(r.created_at) });
const storeOf = (r: StoreRow): VectorStore => ({
  id: r.id, name: r.name, model: r.model, metadata: JSON.parse(r.metadata) as Record<string, string>, createdAt: Number(r.created_at), lastActiveAt: Number(r.last_active),
});
function storeFileOf(r: StoreFileRow): StoreFile {
  const f: StoreFile = {
    storeId: r.store_id, fileId: r.file_id, status: r.status as IngestStatus, attributes: JSON.parse(r.attributes) as Attributes,
    chunking: { maxTokens: Number(r.max_tokens), overlap: Number(r.overlap) }, chunks: Number(r.chunks), usageBytes: Number(r.usage_bytes), createdAt: Number(r.created_at),
  };
  if (r.last_error !== null) f.lastError = JSON.parse(r.last_error) as { code: string; message: string };
  return f;
}

/**
 * FTS5 query texts for a query: its words, each quoted, first all of them (AND), then any of them (OR). The
 * keyword list is the AND matches in BM25 order followed by the other OR matches in BM25 order, so a chunk
 * holding every word of the query ranks above one that repeats a few common ones. `common` terms (in a large
 * share of the chunks: "the", "and") stay in the AND pass but are left out of the OR pass, where they would
 * match most of the corpus and add nothing to the ranking; a query of common words only has the AND pass.
 */
export function ftsQueries(query: string, common: (term: string) => boolean = () => false): string[] {
  const words = [...new Set(query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])];
  if (!words.length) return [];
  const q = (ts: string[], op: string) => ts.map((t) => `"${t}"`).join(` ${op} `);
  if (words.length === 1) return [q(words, 'AND')];
  const rare = words.filter((t) => !common(t));
  return rare.length ? [q(words, 'AND'), q(rare, 'OR')] : [q(words, 'AND')];
}

/** Reciprocal rank fusion of ranked id lists: ids by Σ 1/(k + rank), rank from 1; ties keep first-seen order. */
export function reciprocalRankFusion(lists: readonly (readonly number[])[], k = RRF_K): { id: number; score: number }[] {
  const score = new Map<number, number>();
  for (const list of lists) list.forEach((id, i) => score.set(id, (score.get(id) ?? 0) + 1 / (k + i + 1)));
  return [...score].map(([id, s]) => ({ id, score: s })).sort((a, b) => b.score - a.score);
}

export class KnowledgeBase {
  private readonly database: Database;
  private readonly embedders: EmbedderSource;
  readonly index: VectorIndex;
  readonly maxIngestBytes: number;
  private readonly commonShare: number;
  private readonly candidateCap: number;
  private readonly now: () => number;
  private readonly onSettled?: (f: StoreFile) => void;
  private readonly queue: { storeId: string; fileId: string }[] = [];
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly abort = new AbortController();
  private readonly s: Record<string, StatementSync>;
  private chunkCount: number | undefined;
  private readonly docCounts = new Map<string, number>();

  constructor(database: Database, o: KnowledgeBaseOptions) {
    this.database = database;
    this.embedders = o.embedders;
    this.index = o.index ?? new ExactVectorIndex(database.db);
    this.maxIngestBytes = o.maxIngestBytes ?? DEFAULT_MAX_INGEST_BYTES;
    this.commonShare = o.commonTermShare ?? COMMON_TERM_SHARE;
    this.candidateCap = o.keywordCandidateCap ?? KEYWORD_CANDIDATE_CAP;
    this.now = o.now ?? Date.now;
    this.onSettled = o.onSettled;
    const db = database.db;
    // Each term's document count, for the common-term rule (a view of the FTS index, on this connection only).
    db.exec("CREATE VIRTUAL TABLE IF NOT EXISTS temp.kb_chunks_vocab USING fts5vocab(main, kb_chunks_fts, 'row')");
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insertFile: p('INSERT INTO kb_files (id, filename, purpose, bytes, sha256, created_at, content) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      file: p('SELECT id, filename, purpose, bytes, sha256, created_at FROM kb_files WHERE id = ?'),
      files: p('SELECT id, filename, purpose, bytes, sha256, created_at FROM kb_files ORDER BY created_at DESC, id'),
      content: p('SELECT content FROM kb_files WHERE id = ?'),
      deleteFile: p('DELETE FROM kb_files WHERE id = ?'),
      insertStore: p('INSERT INTO kb_stores (id, name, model, metadata, created_at, last_active) VALUES (?, ?, ?, ?, ?, ?)'),
      store: p('SELECT * FROM kb_stores WHERE id = ?'),
      storeByName: p('SELECT * FROM kb_stores WHERE name = ? ORDER BY created_at'),
      stores: p('SELECT * FROM kb_stores ORDER BY created_at DESC, id'),
      updateStore: p('UPDATE kb_stores SET name = ?, metadata = ? WHERE id = ?'),
      touchStore: p('UPDATE kb_stores SET last_active = ? WHERE id = ?'),
      deleteStore: p('DELETE FROM kb_stores WHERE id = ?'),
      deleteStoreChunks: p('DELETE FROM kb_chunks WHERE store_id = ?'),
      insertStoreFile: p(`INSERT INTO kb_store_files (store_id, file_id, status, last_error, attributes, max_tokens, overlap, sha256, created_at)
        VALUES (?, ?, 'in_progress', NULL, ?, ?, ?, ?, ?)`),
      restartStoreFile: p(`UPDATE kb_store_files SET status = 'in_progress', last_error = NULL, attributes = ?, max_tokens = ?, overlap = ?, sha256 = ?, chunks = 0, usage_bytes = 0
        WHERE store_id = ? AND file_id = ?`),
      storeFile: p('SELECT * FROM kb_store_files WHERE store_id = ? AND file_id = ?'),
      storeFiles: p('SELECT * FROM kb_store_files WHERE store_id = ? ORDER BY created_at DESC, file_id'),
      pending: p("SELECT store_id, file_id FROM kb_store_files WHERE status = 'in_progress' ORDER BY created_at"),
      sameContent: p(`SELECT * FROM kb_store_files WHERE store_id = ? AND sha256 = ? AND status = 'completed' AND file_id <> ?
        AND max_tokens = ? AND overlap = ? LIMIT 1`),
      copyChunks: p(`INSERT INTO kb_chunks (store_id, file_id, seq, text, embedding)
        SELECT store_id, ?, seq, text, embedding FROM kb_chunks WHERE store_id = ? AND file_id = ? ORDER BY seq`),
      finish: p("UPDATE kb_store_files SET status = 'completed', chunks = ?, usage_bytes = ? WHERE store_id = ? AND file_id = ?"),
      fail: p("UPDATE kb_store_files SET status = 'failed', last_error = ? WHERE store_id = ? AND file_id = ?"),
      deleteStoreFile: p('DELETE FROM kb_store_files WHERE store_id = ? AND file_id = ?'),
      deleteFileChunks: p('DELETE FROM kb_chunks WHERE store_id = ? AND file_id = ?'),
      chunkCount: p('SELECT count(*) AS n, coalesce(sum(length(text)), 0) AS b FROM kb_chunks WHERE store_id = ? AND file_id = ?'),
      insertChunk: p('INSERT INTO kb_chunks (store_id, file_id, seq, text, embedding) VALUES (?, ?, ?, ?, ?)'),
      chunk: p('SELECT id, file_id, text FROM kb_chunks WHERE id = ?'),
      // BM25 order in FTS5 first (of the first `cap` matches by rowid; -1: all), `limit` deep, then the store's rows
      // of those: joining every match to kb_chunks before sorting costs several times the ranking itself.
      keyword: p(`SELECT c.id, c.file_id FROM (SELECT rowid, r FROM (SELECT rowid, bm25(kb_chunks_fts) AS r FROM kb_chunks_fts
        WHERE kb_chunks_fts MATCH ? LIMIT ?) ORDER BY r, rowid LIMIT ?) m JOIN kb_chunks c ON c.id = m.rowid WHERE c.store_id = ? ORDER BY m.r, m.rowid`),
      termDocs: p('SELECT doc FROM temp.kb_chunks_vocab WHERE term = ?'),
      totalChunks: p('SELECT count(*) AS n FROM kb_chunks'),
    };
  }

  // Files

  createFile(filename: string, purpose: string, bytes: Uint8Array): StoredFile {
    const f: StoredFile = { id: newId('file-'), filename, purpose, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), createdAt: this.now() };
    this.database.transaction(() => this.s.insertFile.run(f.id, f.filename, f.purpose, f.bytes, f.sha256, f.createdAt, bytes));
    return f;
  }

  file(id: string): StoredFile | undefined {
    const r = this.s.file.get(id) as FileRow | undefined;
    return r && fileOf(r);
  }

  requireFile(id: string): StoredFile {
    const f = this.file(id);
    if (!f) throw new HearthError('not_found', `no file ${JSON.stringify(id)}`);
    return f;
  }

  files(purpose?: string): StoredFile[] {
    return (this.s.files.all() as unknown as FileRow[]).map(fileOf).filter((f) => purpose === undefined || f.purpose === purpose);
  }

  content(id: string): Uint8Array {
    const r = this.s.content.get(id) as { content: Uint8Array } | undefined;
    if (!r) throw new HearthError('not_found', `no file ${JSON.stringify(id)}`);
    return r.content;
  }

  /** Deletes the file's bytes; the chunks already made from it stay searchable in their stores, as OpenAI keeps them. */
  deleteFile(id: string): boolean {
    return Number(this.database.transaction(() => this.s.deleteFile.run(id)).changes) > 0;
  }

  // Vector stores

  /** Creates a store bound to `model` (the name its embedder source is asked for), checking first that the model embeds. */
  async createStore(o: { name: string; model: string; metadata?: Record<string, string> }): Promise<VectorStore> {
    const lease = await this.embedders(o.model);
    lease.release();
    const t = this.now();
    const v: VectorStore = { id: newId('vs_'), name: o.name, model: o.model, metadata: o.metadata ?? {}, createdAt: t, lastActiveAt: t };
    this.database.transaction(() => this.s.insertStore.run(v.id, v.name, v.model, JSON.stringify(v.metadata), v.createdAt, v.lastActiveAt));
    return v;
  }

  store(id: string): VectorStore | undefined {
    const r = this.s.store.get(id) as StoreRow | undefined;
    return r && storeOf(r);
  }

  requireStore(id: string): VectorStore {
    const v = this.store(id);
    if (!v) throw new HearthError('not_found', `no vector store ${JSON.stringify(id)}`);
    return v;
  }

  /** A store by id, else by name (the newest of that name): what the CLI takes. */
  findStore(idOrName: string): VectorStore | undefined {
    const byName = this.s.storeByName.all(idOrName) as unknown as StoreRow[];
    return this.store(idOrName) ?? (byName.length ? storeOf(byName[byName.length - 1]) : undefined);
  }

  stores(): VectorStore[] {
    return (this.s.stores.all() as unknown as StoreRow[]).map(storeOf);
  }

  updateStore(id: string, o: { name?: string; metadata?: Record<string, string> }): VectorStore {
    const v = this.requireStore(id);
    const next = { ...v, name: o.name ?? v.name, metadata: o.metadata ?? v.metadata };
    this.database.transaction(() => this.s.updateStore.run(next.name, JSON.stringify(next.metadata), id));
    return next;
  }

  deleteStore(id: string): boolean {
    const gone = this.database.transaction(() => {
      this.s.deleteStoreChunks.run(id);
      return Number(this.s.deleteStore.run(id).changes) > 0;
    });
    this.changed(id);
    return gone;
  }

  fileCounts(storeId: string): FileCounts {
    const c: FileCounts = { in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 };
    for (const f of this.storeFiles(storeId)) {
      c[f.status]++;
      c.total++;
    }
    return c;
  }

  usageBytes(storeId: string): number {
    return this.storeFiles(storeId).reduce((s, f) => s + f.usageBytes, 0);
  }

  storeFiles(storeId: string): StoreFile[] {
    return (this.s.storeFiles.all(storeId) as unknown as StoreFileRow[]).map(storeFileOf);
  }

  storeFile(storeId: string, fileId: string): StoreFile | undefined {
    const r = this.s.storeFile.get(storeId, fileId) as StoreFileRow | undefined;
    return r && storeFileOf(r);
  }

  /**
   * Attaches a file to a store and queues its ingest. Attaching a file that is already there with the same
   * content and chunking changes nothing (a failed one is tried again).
   */
  attach(storeId: string, fileId: string, o: { attributes?: Attributes; chunking?: Partial<ChunkingOptions> } = {}): StoreFile {
    this.requireStore(storeId);
    const file = this.requireFile(fileId);
    const chunking = { maxTokens: o.chunking?.maxTokens ?? DEFAULT_MAX_CHUNK_TOKENS, overlap: o.chunking?.overlap ?? DEFAULT_CHUNK_OVERLAP };
    if (o.chunking?.maxTokens !== undefined && o.chunking.overlap === undefined) chunking.overlap = Math.min(DEFAULT_CHUNK_OVERLAP, Math.floor(chunking.maxTokens / 2));
    checkChunking(chunking);
    const attributes = o.attributes ?? {};
    const have = this.storeFile(storeId, fileId);
    if (have && have.status !== 'failed' && (have.status === 'in_progress' || (this.fileSha(storeId, fileId) === file.sha256
      && have.chunking.maxTokens === chunking.maxTokens && have.chunking.overlap === chunking.overlap))) {
      return have;
    }
    this.database.transaction(() => {
      if (have) {
        this.s.deleteFileChunks.run(storeId, fileId);
        this.s.restartStoreFile.run(JSON.stringify(attributes), chunking.maxTokens, chunking.overlap, file.sha256, storeId, fileId);
      } else {
        this.s.insertStoreFile.run(storeId, fileId, JSON.stringify(attributes), chunking.maxTokens, chunking.overlap, file.sha256, this.now());
      }
      this.s.touchStore.run(this.now(), storeId);
    });
    this.changed(storeId);
    this.enqueue(storeId, fileId);
    return this.storeFile(storeId, fileId)!;
  }

  private fileSha(storeId: string, fileId: string): string | undefined {
    return (this.s.storeFile.get(storeId, fileId) as StoreFileRow | undefined)?.sha256;
  }

  /** Detaches a file from a store and drops its chunks there. */
  detach(storeId: string, fileId: string): boolean {
    const gone = this.database.transaction(() => {
      this.s.deleteFileChunks.run(storeId, fileId);
      return Number(this.s.deleteStoreFile.run(storeId, fileId).changes) > 0;
    });
    this.changed(storeId);
    return gone;
  }

  /** Queues every ingest left in progress (by a process that stopped midway). */
  resume(): number {
    const rows = this.s.pending.all() as { store_id: string; file_id: string }[];
    for (const r of rows) this.enqueue(r.store_id, r.file_id);
    return rows.length;
  }

  /** Settles when the queue is empty. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops taking jobs; the one running stops at its next batch (its committed chunks stay, and resume() goes on from them). */
  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    await this.running?.catch(() => {});
    await this.index.close?.();
  }

  /** After a store's chunks change: its vector index, and the chunk count of the common-term rule. */
  private changed(storeId: string): void {
    this.index.invalidate(storeId);
    this.chunkCount = undefined;
    this.docCounts.clear();
  }

  private enqueue(storeId: string, fileId: string): void {
    if (this.closed) return;
    if (!this.queue.some((q) => q.storeId === storeId && q.fileId === fileId)) this.queue.push({ storeId, fileId });
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  private async drain(): Promise<void> {
    for (let job = this.queue.shift(); job && !this.closed; job = this.queue.shift()) {
      await this.ingest(job.storeId, job.fileId);
    }
  }

  private async ingest(storeId: string, fileId: string): Promise<void> {
    const sf = this.storeFile(storeId, fileId);
    const store = this.store(storeId);
    if (!sf || !store || sf.status !== 'in_progress') return;
    try {
      const file = this.file(fileId);
      if (!file) throw new ExtractError('invalid_file', `file ${fileId} was deleted before it was ingested`);
      const same = this.s.sameContent.get(storeId, file.sha256, fileId, sf.chunking.maxTokens, sf.chunking.overlap) as StoreFileRow | undefined;
      if (same) {
        this.database.transaction(() => {
          this.s.deleteFileChunks.run(storeId, fileId);
          this.s.copyChunks.run(fileId, storeId, same.file_id);
          this.s.finish.run(Number(same.chunks), Number(same.usage_bytes), storeId, fileId);
        });
      } else {
        await this.embedFile(store, sf, file);
      }
    } catch (e) {
      if (this.closed) return;
      const code = e instanceof ExtractError ? e.code : 'server_error';
      this.database.transaction(() => this.s.fail.run(JSON.stringify({ code, message: (e as Error).message }), storeId, fileId));
    } finally {
      this.changed(storeId);
    }
    if (!this.closed) this.onSettled?.(this.storeFile(storeId, fileId)!);
  }

  private async embedFile(store: VectorStore, sf: StoreFile, file: StoredFile): Promise<void> {
    const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
    const cap = `files over ${mib(this.maxIngestBytes)} are not ingested (hearth serve --max-ingest-size)`;
    if (file.bytes > this.maxIngestBytes) throw new ExtractError('invalid_file', `the file is ${mib(file.bytes)}: ${cap}`);
    const text = await extractText(file.filename, this.content(file.id));
    if (text.length > this.maxIngestBytes) throw new ExtractError('invalid_file', `the file's text is ${mib(text.length)} characters: ${cap}`);
    const lease = await this.patiently(() => this.embedders(store.model));
    try {
      const { embedder } = lease;
      const chunking = { maxTokens: Math.min(sf.chunking.maxTokens, embedder.maxTokens), overlap: Math.min(sf.chunking.overlap, Math.floor(embedder.maxTokens / 2)) };
      const chunks = chunkText(text, (s) => embedder.countTokens(s), chunking);
      if (!chunks.length) throw new ExtractError('invalid_file', 'the file has no text');
      let done = Number((this.s.chunkCount.get(store.id, file.id) as { n: number }).n);
      while (done < chunks.length) {
        if (this.closed) throw new HearthError('aborted', 'the knowledge base closed');
        const batch = chunks.slice(done, done + EMBED_BATCH);
        const vectors = await this.patiently(() => embedder.embed(batch.map((c) => c.text), this.abort.signal));
        if (this.closed) throw new HearthError('aborted', 'the knowledge base closed');
        const from = done;
        this.database.transaction(() => {
          batch.forEach((c, i) => this.s.insertChunk.run(store.id, file.id, from + i, c.text, vectorBlob(normalize(vectors[i]))));
        });
        done += batch.length;
      }
      const { n, b } = this.s.chunkCount.get(store.id, file.id) as { n: number; b: number };
      this.database.transaction(() => this.s.finish.run(Number(n), Number(b), store.id, file.id));
    } finally {
      lease.release();
    }
  }

  /** fn(), tried again with backoff while it fails with a transient error (up to MAX_WAIT_MS, or until close). */
  private async patiently<T>(fn: () => Promise<T>): Promise<T> {
    const t0 = this.now();
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (e) {
        if (this.closed || !(e instanceof HearthError) || !TRANSIENT.has(e.code) || this.now() - t0 > MAX_WAIT_MS) throw e;
        await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** i)));
      }
    }
  }

  // Search

  /** The top chunks of a store for a query: hybrid (default), keyword only (BM25) or vector only. */
  async search(storeId: string, o: SearchOptions): Promise<SearchHit[]> {
    const store = this.requireStore(storeId);
    const max = o.maxResults ?? 10;
    if (!Number.isInteger(max) || max < 1 || max > 50) throw new HearthError('invalid_argument', `max_num_results must be an integer from 1 to 50; got ${max}`);
    const mode = o.mode ?? 'hybrid';
    const files = new Map(this.storeFiles(storeId).map((f) => [f.fileId, f]));
    const allow = (fileId: string) => {
      const f = files.get(fileId);
      return f !== undefined && f.status === 'completed' && (o.filter === undefined || matches(o.filter, f.attributes));
    };
    const keyword = mode === 'vector' ? [] : this.keywordIds(storeId, o.query, allow);
    let vector: { id: number; score: number }[] = [];
    if (mode !== 'keyword') {
      const lease = await this.embedders(store.model);
      try {
        const [q] = await lease.embedder.embed([o.query]);
        vector = await this.index.search(storeId, q, CANDIDATES, allow);
      } finally {
        lease.release();
      }
    }
    this.database.transaction(() => this.s.touchStore.run(this.now(), storeId));
    const ranked = mode === 'keyword' ? keyword.map((k) => ({ id: k.id, score: k.score }))
      : mode === 'vector' ? vector
        : reciprocalRankFusion([keyword.map((k) => k.id), vector.map((v) => v.id)]);
    const out: SearchHit[] = [];
    for (const r of ranked) {
      if (out.length >= max) break;
      if (o.scoreThreshold !== undefined && r.score < o.scoreThreshold) continue;
      const c = this.s.chunk.get(r.id) as { id: number; file_id: string; text: string };
      const f = files.get(c.file_id)!;
      out.push({ chunkId: Number(c.id), fileId: c.file_id, filename: this.file(c.file_id)?.filename ?? '', score: r.score, attributes: f.attributes, text: c.text });
    }
    return out;
  }

  /**
   * The number of chunks holding `term` (FTS5's document count). fts5vocab counts by reading the term's whole
   * doclist, as long for "the" as the search it would spare, so counts are kept until the chunks change.
   */
  private termDocs(term: string): number {
    let n = this.docCounts.get(term);
    if (n === undefined) {
      n = Number((this.s.termDocs.get(term) as { doc: number } | undefined)?.doc ?? 0);
      if (this.docCounts.size >= 100_000) this.docCounts.clear();
      this.docCounts.set(term, n);
    }
    return n;
  }

  /**
   * Keyword order (ftsQueries; best first), CANDIDATES deep, of the allowed chunks; score 1 / (1 + rank) so that
   * higher is better. Terms in more than COMMON_TERM_SHARE of the chunks are common; a pass whose document counts
   * exceed KEYWORD_CANDIDATE_CAP ranks that many of its matches.
   */
  private keywordIds(storeId: string, query: string, allow: (fileId: string) => boolean): { id: number; score: number }[] {
    this.chunkCount ??= Number((this.s.totalChunks.get() as { n: number }).n);
    const total = this.chunkCount;
    const df = (t: string) => this.termDocs(t);
    const common = (t: string) => total >= COMMON_MIN_CHUNKS && df(t) > this.commonShare * total;
    const out: { id: number; score: number }[] = [];
    const seen = new Set<number>();
    for (const q of ftsQueries(query, common)) {
      const terms = [...q.matchAll(/"([^"]*)"/g)].map((m) => m[1]);
      const matches = q.includes(' OR ') ? terms.reduce((a, t) => a + df(t), 0) : Math.min(...terms.map(df));
      const capped = matches > this.candidateCap;
      const cap = capped ? this.candidateCap : -1;
      const most = capped ? this.candidateCap : matches;
      let rows: { id: number; file_id: string }[];
      // The top `limit`, deepened until it holds enough of this store's allowed chunks (or all there are).
      for (let limit = 4 * CANDIDATES; ; limit *= 4) {
        rows = this.s.keyword.all(q, cap, limit, storeId) as { id: number; file_id: string }[];
        if (limit >= most || rows.filter((r) => !seen.has(Number(r.id)) && allow(r.file_id)).length >= CANDIDATES - out.length) break;
      }
      for (const r of rows) {
        if (out.length >= CANDIDATES) return out;
        const id = Number(r.id);
        if (seen.has(id) || !allow(r.file_id)) continue;
        seen.add(id);
        out.push({ id, score: 1 / (1 + out.length) });
      }
    }
    return out;
  }
}
