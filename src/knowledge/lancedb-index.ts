// The LanceDB VectorIndex: each vector store's vectors mirrored into a Lance table at a local path (one table per
// store, named by its id), searched by cosine distance, with an IVF index built once a store holds ivfMinRows
// vectors. SQLite stays the record: kb_chunks holds every chunk's text and embedding, FTS5 its words, and the
// Lance tables are rebuilt from it as needed. invalidate() marks a store changed and syncs it in the background
// (rows added and removed by chunk id, the IVF index rebuilt when a tenth of the rows are not in it); a search
// waits for its store's sync. `@lancedb/lancedb` is an optional dependency: openLanceDbIndex says when it cannot
// be loaded.

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { HearthError } from '../util/errors.ts';
import type { VectorHit, VectorIndex } from './types.ts';
import { blobVector, normalize } from './vector-index.ts';

type LanceModule = typeof import('@lancedb/lancedb');
type Connection = Awaited<ReturnType<LanceModule['connect']>>;
type Table = Awaited<ReturnType<Connection['openTable']>>;

export interface LanceDbOptions {
  /** Vectors a store needs before it gets an IVF index (below that a search is a flat scan, exact). */
  ivfMinRows?: number;
  /** IVF partitions probed per query, as a fraction of the partitions (at least minProbes). */
  probeFraction?: number;
  minProbes?: number;
}

export const DEFAULT_IVF_MIN_ROWS = 10_000;
const DEFAULT_PROBE_FRACTION = 0.1;
const DEFAULT_MIN_PROBES = 20;
const ADD_BATCH = 5000;

interface StoreState {
  /** The store's sync now running or last run (a search waits for it). */
  sync: Promise<void>;
  dirty: boolean;
  table?: Table;
  dims: number;
  rows: number;
  fileIds: Set<string>;
  partitions: number;
}

/** LanceDB's version, and its module; an Error saying why it cannot be had here otherwise. */
export async function loadLanceDb(): Promise<{ version: string; lancedb: LanceModule } | Error> {
  try {
    const lancedb = await import('@lancedb/lancedb');
    // Its package.json is not among its exports: found from the entry point, up.
    let dir = dirname(createRequire(import.meta.url).resolve('@lancedb/lancedb'));
    let version = 'unknown';
    for (let i = 0; i < 4; i++, dir = dirname(dir)) {
      const p = join(dir, 'package.json');
      if (!existsSync(p)) continue;
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@lancedb/lancedb') { version = pkg.version ?? version; break; }
    }
    return { version, lancedb };
  } catch (e) {
    return new Error(`@lancedb/lancedb cannot be loaded (an optional dependency: npm install @lancedb/lancedb): ${(e as Error).message}`, { cause: e });
  }
}

/** A LanceDbIndex over the LanceDB database at `dir` (created when missing), or a HearthError saying why not. */
export async function openLanceDbIndex(db: DatabaseSync, dir: string, o: LanceDbOptions = {}): Promise<LanceDbIndex> {
  const lance = await loadLanceDb();
  if (lance instanceof Error) throw new HearthError('unavailable', lance.message, { cause: lance });
  // LanceDB also takes URIs (s3://, db://: remote storage); Hearth's index is a folder of this machine only
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(dir)) throw new HearthError('invalid_argument', `--lancedb takes a local folder, not a URI: ${dir}`);
  mkdirSync(dir, { recursive: true });
  const conn = await lance.lancedb.connect(dir);
  return new LanceDbIndex(db, lance.lancedb, conn, o);
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

export class LanceDbIndex implements VectorIndex {
  private readonly lancedb: LanceModule;
  private readonly conn: Connection;
  private readonly ids: StatementSync;
  private readonly rowsFrom: StatementSync;
  private readonly states = new Map<string, StoreState>();
  readonly ivfMinRows: number;
  private readonly probeFraction: number;
  private readonly minProbes: number;
  private closed = false;

  constructor(db: DatabaseSync, lancedb: LanceModule, conn: Connection, o: LanceDbOptions = {}) {
    this.lancedb = lancedb;
    this.conn = conn;
    this.ivfMinRows = o.ivfMinRows ?? DEFAULT_IVF_MIN_ROWS;
    this.probeFraction = o.probeFraction ?? DEFAULT_PROBE_FRACTION;
    this.minProbes = o.minProbes ?? DEFAULT_MIN_PROBES;
    this.ids = db.prepare('SELECT id FROM kb_chunks WHERE store_id = ? ORDER BY id');
    this.rowsFrom = db.prepare('SELECT id, file_id, embedding FROM kb_chunks WHERE store_id = ? AND id IN (SELECT value FROM json_each(?)) ORDER BY id');
  }

  private state(storeId: string): StoreState {
    let s = this.states.get(storeId);
    if (!s) {
      s = { sync: Promise.resolve(), dirty: true, dims: 0, rows: 0, fileIds: new Set(), partitions: 0 };
      this.states.set(storeId, s);
    }
    return s;
  }

  invalidate(storeId: string): void {
    const s = this.state(storeId);
    s.dirty = true;
    // In the background, so an ingest's IVF build is done before the next query asks; errors surface at search.
    const next = s.sync.catch(() => {}).then(() => (s.dirty && !this.closed ? this.syncStore(storeId, s) : undefined));
    next.catch(() => {});
    s.sync = next;
  }

  /** Waits for the store's pending sync (then the table matches kb_chunks); tests and benchmarks call it. */
  async ready(storeId: string): Promise<void> {
    const s = this.state(storeId);
    if (s.dirty) {
      const next = s.sync.catch(() => {}).then(() => (s.dirty ? this.syncStore(storeId, s) : undefined));
      s.sync = next;
    }
    await s.sync;
  }

  /** Whether the store's table has its IVF index (and how many partitions); for tests and the benchmark. */
  async indexInfo(storeId: string): Promise<{ rows: number; ivf: boolean; partitions: number; unindexed: number }> {
    await this.ready(storeId);
    const s = this.state(storeId);
    const stats = s.table ? await s.table.indexStats('vector_idx') : undefined;
    return { rows: s.rows, ivf: stats !== undefined, partitions: s.partitions, unindexed: stats?.numUnindexedRows ?? s.rows };
  }

  private async syncStore(storeId: string, s: StoreState): Promise<void> {
    s.dirty = false;
    const want = (this.ids.all(storeId) as { id: number }[]).map((r) => Number(r.id));
    const names = await this.conn.tableNames();
    if (!want.length) {
      if (names.includes(storeId)) await this.conn.dropTable(storeId);
      Object.assign(s, { table: undefined, rows: 0, dims: 0, fileIds: new Set(), partitions: 0 });
      return;
    }
    let table = s.table ?? (names.includes(storeId) ? await this.conn.openTable(storeId) : undefined);
    const have = new Set<number>();
    if (table) {
      const col = (await table.query().select(['id']).toArrow()).getChild('id');
      for (let i = 0; i < (col?.length ?? 0); i++) have.add(Number(col!.get(i)));
    }
    const wantSet = new Set(want);
    const gone = [...have].filter((id) => !wantSet.has(id));
    if (table && gone.length) {
      for (let i = 0; i < gone.length; i += ADD_BATCH) await table.delete(`id IN (${gone.slice(i, i + ADD_BATCH).join(',')})`);
    }
    const missing = want.filter((id) => !have.has(id));
    let dims = s.dims;
    for (let i = 0; i < missing.length; i += ADD_BATCH) {
      const rows = (this.rowsFrom.all(storeId, JSON.stringify(missing.slice(i, i + ADD_BATCH))) as { id: number; file_id: string; embedding: Uint8Array }[])
        .map((r) => {
          const v = blobVector(r.embedding);
          dims = v.length;
          return { id: Number(r.id), file_id: r.file_id, vector: Array.from(v) };
        });
      if (!rows.length) continue;
      if (!table) table = await this.conn.createTable(storeId, rows, { mode: names.includes(storeId) ? 'overwrite' : 'create' });
      else await table.add(rows);
    }
    if (!table) return;
    s.table = table;
    s.rows = await table.countRows();
    if (!dims) {
      const [first] = await table.query().select(['vector']).limit(1).toArray() as { vector: ArrayLike<number> }[];
      dims = first ? first.vector.length : 0;
    }
    s.dims = dims;
    s.fileIds = new Set();
    const files = (await table.query().select(['file_id']).toArrow()).getChild('file_id');
    for (let i = 0; i < (files?.length ?? 0); i++) s.fileIds.add(String(files!.get(i)));
    await this.maybeIndex(s);
  }

  /** Builds (or rebuilds) the IVF index when the store is large enough and a tenth of its rows are outside it. */
  private async maybeIndex(s: StoreState): Promise<void> {
    const table = s.table!;
    const stats = await table.indexStats('vector_idx');
    if (s.rows < this.ivfMinRows) {
      if (stats) await table.dropIndex('vector_idx');
      s.partitions = 0;
      return;
    }
    if (stats && stats.numUnindexedRows <= s.rows / 10) {
      s.partitions ||= Math.max(1, Math.round(Math.sqrt(stats.numIndexedRows)));
      return;
    }
    const partitions = Math.max(1, Math.round(Math.sqrt(s.rows)));
    await table.createIndex('vector', { config: this.lancedb.Index.ivfFlat({ numPartitions: partitions, distanceType: 'cosine' }), replace: true });
    s.partitions = partitions;
  }

  private async query(storeId: string, query: Float32Array, k: number, allow?: (fileId: string) => boolean) {
    await this.ready(storeId);
    const s = this.state(storeId);
    if (k <= 0 || !s.table || s.dims !== query.length) return undefined;
    let q = s.table.vectorSearch(Array.from(normalize(query))).distanceType('cosine').select(['id', '_distance']).limit(k);
    if (allow) {
      const ids = [...s.fileIds].filter(allow);
      if (!ids.length) return undefined;
      if (ids.length < s.fileIds.size) q = q.where(`file_id IN (${ids.map(sqlString).join(',')})`);
    }
    if (s.partitions) q = q.nprobes(Math.min(s.partitions, Math.max(this.minProbes, Math.ceil(s.partitions * this.probeFraction))));
    return q;
  }

  async search(storeId: string, query: Float32Array, k: number, allow?: (fileId: string) => boolean): Promise<VectorHit[]> {
    const q = await this.query(storeId, query, k, allow);
    if (!q) return [];
    const rows = await q.toArray() as { id: number; _distance: number }[];
    return rows.map((r) => ({ id: Number(r.id), score: 1 - Number(r._distance) }));
  }

  /** LanceDB's plan for a search (whether it goes through the IVF index); for tests. */
  async explain(storeId: string, query: Float32Array, k: number): Promise<string> {
    const q = await this.query(storeId, query, k);
    return q ? q.explainPlan() : '';
  }

  /** Waits for the syncs under way; the index takes no more work. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.states.values()].map((s) => s.sync.catch(() => {})));
    this.conn.close();
  }
}
