// The embedded VectorIndex: an exact cosine scan in TypeScript over the stored vectors of a store, which is
// what sqlite-vec's vec0 table does for exact KNN. Vectors are stored normalised, so cosine is a dot product;
// a store's vectors are read from SQLite once into one Float32Array [n, dims] and kept until its chunks change.

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { VectorHit, VectorIndex } from './types.ts';

interface Matrix {
  ids: Float64Array;
  files: string[];
  dims: number;
  data: Float32Array; // [n, dims]
}

/** Little-endian float32 bytes of a vector. */
export function vectorBlob(v: Float32Array): Uint8Array {
  return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
}

export function blobVector(b: Uint8Array): Float32Array {
  const copy = new Uint8Array(b);
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}

/** v / |v| (a zero vector stays zero). */
export function normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] * inv;
  return out;
}

export class ExactVectorIndex implements VectorIndex {
  private readonly select: StatementSync;
  private readonly cache = new Map<string, Matrix>();

  constructor(db: DatabaseSync) {
    this.select = db.prepare('SELECT id, file_id, embedding FROM kb_chunks WHERE store_id = ? ORDER BY id');
  }

  private matrix(storeId: string): Matrix {
    const have = this.cache.get(storeId);
    if (have) return have;
    const rows = this.select.all(storeId) as { id: number; file_id: string; embedding: Uint8Array }[];
    const dims = rows.length ? rows[0].embedding.byteLength / 4 : 0;
    const m: Matrix = { ids: new Float64Array(rows.length), files: new Array<string>(rows.length), dims, data: new Float32Array(rows.length * dims) };
    rows.forEach((r, i) => {
      m.ids[i] = Number(r.id);
      m.files[i] = r.file_id;
      m.data.set(blobVector(r.embedding), i * dims);
    });
    this.cache.set(storeId, m);
    return m;
  }

  search(storeId: string, query: Float32Array, k: number, allow?: (fileId: string) => boolean): VectorHit[] {
    const m = this.matrix(storeId);
    if (m.dims !== query.length || k <= 0) return [];
    const q = normalize(query);
    // Keep the best k in a small sorted array (k is tens): O(n·dims + n·k) worst case, n·dims in practice.
    const top: VectorHit[] = [];
    const n = m.ids.length;
    for (let i = 0; i < n; i++) {
      if (allow && !allow(m.files[i])) continue;
      let s = 0;
      const o = i * m.dims;
      for (let d = 0; d < m.dims; d++) s += m.data[o + d] * q[d];
      if (top.length === k && s <= top[k - 1].score) continue;
      let at = top.length;
      while (at > 0 && top[at - 1].score < s) at--;
      top.splice(at, 0, { id: m.ids[i], score: s });
      if (top.length > k) top.pop();
    }
    return top;
  }

  invalidate(storeId: string): void {
    this.cache.delete(storeId);
  }
}

/**
 * sqlite-vec's exact KNN over the same float32 rows, in C: `vec_distance_cosine` on kb_chunks.embedding, the
 * attribute filter as the allowed file ids (a JSON array). Available where the optional `sqlite-vec` package and
 * its platform build are installed; `loadSqliteVec` says why not otherwise.
 */
export class SqliteVecIndex implements VectorIndex {
  private readonly all: StatementSync;
  private readonly some: StatementSync;
  private readonly files: StatementSync;

  constructor(db: DatabaseSync) {
    this.all = db.prepare(`SELECT id, 1 - vec_distance_cosine(embedding, ?) AS score FROM kb_chunks WHERE store_id = ?
      ORDER BY vec_distance_cosine(embedding, ?), id LIMIT ?`);
    this.some = db.prepare(`SELECT id, 1 - vec_distance_cosine(embedding, ?) AS score FROM kb_chunks WHERE store_id = ?
      AND file_id IN (SELECT value FROM json_each(?)) ORDER BY vec_distance_cosine(embedding, ?), id LIMIT ?`);
    this.files = db.prepare('SELECT DISTINCT file_id FROM kb_chunks WHERE store_id = ?');
  }

  search(storeId: string, query: Float32Array, k: number, allow?: (fileId: string) => boolean): VectorHit[] {
    if (k <= 0) return [];
    const q = vectorBlob(normalize(query));
    let rows: { id: number; score: number }[];
    if (!allow) rows = this.all.all(q, storeId, q, k) as { id: number; score: number }[];
    else {
      const ids = (this.files.all(storeId) as { file_id: string }[]).map((r) => r.file_id).filter(allow);
      rows = this.some.all(q, storeId, JSON.stringify(ids), q, k) as { id: number; score: number }[];
    }
    return rows.map((r) => ({ id: Number(r.id), score: Number(r.score) }));
  }

  invalidate(): void {}
}

/** Loads sqlite-vec into the connection; the loaded version, or an Error saying why it cannot be had here. */
export async function loadSqliteVec(db: DatabaseSync): Promise<string | Error> {
  try {
    const { getLoadablePath } = await import('sqlite-vec');
    db.enableLoadExtension(true);
    try {
      db.loadExtension(getLoadablePath());
    } finally {
      db.enableLoadExtension(false);
    }
    return String((db.prepare('SELECT vec_version() AS v').get() as { v: string }).v);
  } catch (e) {
    return e as Error;
  }
}
