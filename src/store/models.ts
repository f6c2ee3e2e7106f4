// The model catalog: one row per library name (pulled, created, copied, or a dropped-in file seen once). The
// rows are plain facts; src/library/library.ts decides what they mean against the models folder.

import type { StatementSync } from 'node:sqlite';
import type { Database } from './database.ts';

export interface CatalogRow {
  /** The canonical name (lower case, without ":latest"): the key. */
  name: string;
  /** The name as it was given. */
  displayName: string;
  /** The first file: relative to the models folder when inside it, else absolute. */
  path: string;
  /** Every file of the model, stored as `path` is. */
  parts: string[];
  source?: string;
  sha256?: string;
  size: number;
  arch?: string;
  paramCount?: number;
  quantization?: string;
  contextLength?: number;
  /** Unix ms. */
  addedAt: number;
  modifiedAt: number;
  /** A ModelPreset as JSON-able data. */
  preset?: unknown;
}

interface Row {
  name: string;
  display_name: string;
  path: string;
  parts: string;
  source: string | null;
  sha256: string | null;
  size: number;
  arch: string | null;
  param_count: number | null;
  quantization: string | null;
  context_length: number | null;
  added_at: number;
  modified_at: number;
  preset: string | null;
}

const COLUMNS = 'name, display_name, path, parts, source, sha256, size, arch, param_count, quantization, context_length, added_at, modified_at, preset';

function fromRow(r: Row): CatalogRow {
  const out: CatalogRow = {
    name: r.name, displayName: r.display_name, path: r.path, parts: JSON.parse(r.parts) as string[], size: Number(r.size),
    addedAt: Number(r.added_at), modifiedAt: Number(r.modified_at),
  };
  if (r.source !== null) out.source = r.source;
  if (r.sha256 !== null) out.sha256 = r.sha256;
  if (r.arch !== null) out.arch = r.arch;
  if (r.param_count !== null) out.paramCount = Number(r.param_count);
  if (r.quantization !== null) out.quantization = r.quantization;
  if (r.context_length !== null) out.contextLength = Number(r.context_length);
  if (r.preset !== null) out.preset = JSON.parse(r.preset) as unknown;
  return out;
}

export class ModelStore {
  private readonly database: Database;
  private readonly byName: StatementSync;
  private readonly upsert: StatementSync;

  constructor(database: Database) {
    this.database = database;
    this.byName = database.db.prepare(`SELECT ${COLUMNS} FROM models WHERE name = ?`);
    this.upsert = database.db.prepare(`INSERT OR REPLACE INTO models (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  }

  /** Every row, by name. */
  all(): CatalogRow[] {
    return (this.database.db.prepare(`SELECT ${COLUMNS} FROM models ORDER BY name`).all() as unknown as Row[]).map(fromRow);
  }

  get(name: string): CatalogRow | undefined {
    const r = this.byName.get(name) as Row | undefined;
    return r && fromRow(r);
  }

  /** Writes a row (replacing the row of the same name). */
  put(row: CatalogRow): void {
    this.database.transaction(() => {
      this.upsert.run(row.name, row.displayName, row.path, JSON.stringify(row.parts), row.source ?? null, row.sha256 ?? null, row.size,
        row.arch ?? null, row.paramCount ?? null, row.quantization ?? null, row.contextLength ?? null, row.addedAt, row.modifiedAt,
        row.preset === undefined ? null : JSON.stringify(row.preset));
    });
  }

  /** Deletes a row; whether there was one. */
  delete(name: string): boolean {
    return this.database.transaction(() => Number(this.database.db.prepare('DELETE FROM models WHERE name = ?').run(name).changes) > 0);
  }
}
