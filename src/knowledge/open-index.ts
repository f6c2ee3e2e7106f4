// The vector index a knowledge base searches, by name: `exact` (the TypeScript scan over the store's vectors),
// `sqlite-vec` (its vec_distance_cosine in the same SQLite file) or `lancedb` (tables at a local path, an IVF
// index on large stores). The flag of `hearth serve --vector-index` and `hearth kb --vector-index`.

import type { DatabaseSync } from 'node:sqlite';
import { HearthError } from '../util/errors.ts';
import { ExactVectorIndex, loadSqliteVec, SqliteVecIndex } from './vector-index.ts';
import { openLanceDbIndex, type LanceDbOptions } from './lancedb-index.ts';
import type { VectorIndex } from './types.ts';

export const VECTOR_INDEXES = ['exact', 'sqlite-vec', 'lancedb'] as const;
export type VectorIndexName = (typeof VECTOR_INDEXES)[number];

export function vectorIndexName(text: string | undefined, flag = '--vector-index'): VectorIndexName | undefined {
  if (text === undefined) return undefined;
  if (!(VECTOR_INDEXES as readonly string[]).includes(text)) {
    throw new HearthError('invalid_argument', `${flag} must be one of ${VECTOR_INDEXES.join(', ')}; got "${text}"`);
  }
  return text as VectorIndexName;
}

/** Opens the named index over the database; a missing optional package is an `unavailable` error saying which. */
export async function openVectorIndex(name: VectorIndexName, db: DatabaseSync, o: { lancedbDir?: string; lancedb?: LanceDbOptions } = {}): Promise<VectorIndex> {
  switch (name) {
    case 'exact':
      return new ExactVectorIndex(db);
    case 'sqlite-vec': {
      const v = await loadSqliteVec(db);
      if (v instanceof Error) throw new HearthError('unavailable', `--vector-index sqlite-vec: the sqlite-vec extension cannot be loaded (an optional dependency: npm install sqlite-vec): ${v.message}`, { cause: v });
      return new SqliteVecIndex(db);
    }
    case 'lancedb':
      if (o.lancedbDir === undefined) throw new HearthError('invalid_argument', '--vector-index lancedb needs a directory (--lancedb DIR)');
      return openLanceDbIndex(db, o.lancedbDir, o.lancedb);
  }
}
