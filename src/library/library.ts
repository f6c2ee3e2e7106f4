// The models library: the catalog (src/store/models.ts) over the models folder (HEARTH_MODELS). A name is pulled,
// created (a preset sharing another model's file), copied (another name for the same file), or a .gguf dropped
// into the folder, recorded under its file name the first time the library looks. Only names whose files exist
// are listed: a row whose file vanished stays in the catalog (it reappears with the file) but is not listed or
// resolved, and `remove` deletes it.

import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { modelsDir } from '../model/resolve.ts';
import { HearthError } from '../util/errors.ts';
import { editDistance } from '../util/edit-distance.ts';
import { openStore, type Store } from '../store/store.ts';
import { databasePath } from '../store/database.ts';
import type { CatalogRow, ModelStore } from '../store/models.ts';
import { canonicalName, describeFile, nameOfFile } from './describe.ts';
import { checkParameters } from './preset.ts';
import { isMmprojFile, mmprojPathFor } from './mmproj.ts';
import type { LibraryModel, ModelPreset, ModelSource } from './types.ts';

const SPLIT_PART = /-(\d{5})-of-\d{5}\.gguf$/i;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._\-:/]*$/;

/** What `record` takes: a pull's result (name, source and parts when it has them) or a LibraryModel. */
export interface RecordInput {
  path: string;
  name?: string;
  source?: string;
  sha256?: string;
  parts?: string[];
  preset?: ModelPreset;
}

export interface CreateOptions {
  /** The model whose file the new name shares (a library name). */
  from: string;
  system?: string;
  /** Ollama's parameter names and typed values (stop: a string or a list). */
  parameters?: Record<string, unknown>;
}

export interface LibraryOptions {
  /** Environment for HEARTH_MODELS / HEARTH_HOME (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The models folder (default modelsDir(env)). */
  dir?: string;
  now?: () => Date;
  /**
   * Digest dropped-in files off the event loop (a server: a multi-gigabyte file takes seconds to hash); they are
   * listed at once, without a digest until it is ready. Default: hashed when first seen, before list() returns.
   */
  hashInBackground?: boolean;
}

/** A library name: Ollama's rule (letters, digits and . _ - : /, at most 128 characters). */
export function checkModelName(name: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 128 || !NAME.test(name)) {
    throw new HearthError('invalid_argument', `"${String(name)}" is not a valid model name: use letters, digits and . _ - : / (at most 128 characters, starting with a letter or digit)`);
  }
  return name;
}


function sha256Sync(path: string): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(16 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

export class Library implements ModelSource {
  /** The models folder. */
  readonly dir: string;
  private readonly rows: ModelStore;
  private readonly now: () => Date;
  private readonly owned: Store | undefined;
  private readonly background: boolean;
  /** Digests being computed, by catalog name. */
  private readonly hashing = new Map<string, Promise<void>>();
  private closed = false;

  constructor(rows: ModelStore, options: LibraryOptions = {}, owned?: Store) {
    this.rows = rows;
    this.dir = resolve(options.dir ?? modelsDir(options.env ?? process.env));
    this.now = options.now ?? (() => new Date());
    this.owned = owned;
    this.background = options.hashInBackground ?? false;
  }

  /** The library of the hearth database (HEARTH_DB / HEARTH_HOME) over HEARTH_MODELS; close() closes the database. */
  static open(env: NodeJS.ProcessEnv = process.env, options: Omit<LibraryOptions, 'env'> = {}): Library {
    const store = openStore(databasePath(env));
    return new Library(store.models, { ...options, env }, store);
  }

  close(): void {
    this.closed = true;
    this.owned?.close();
  }

  /** Settles when the digests being computed in the background are written. */
  async hashed(): Promise<void> {
    while (this.hashing.size) await Promise.all(this.hashing.values());
  }

  private hashLater(key: string, path: string): void {
    if (this.hashing.has(key)) return;
    const job = (async () => {
      const h = createHash('sha256');
      for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) h.update(chunk as Buffer);
      const digest = h.digest('hex');
      if (this.closed) return;
      const row = this.rows.get(key);
      // written only where the row still names this file and has no digest
      if (row && row.sha256 === undefined && this.abs(row.path) === path) this.rows.put({ ...row, sha256: digest });
    })().catch(() => { /* unreadable now: hashed again when next seen without a digest */ })
      .finally(() => this.hashing.delete(key));
    this.hashing.set(key, job);
  }

  /** Every model whose files exist, dropped-in files included (recorded on first sight), sorted by name. */
  list(): LibraryModel[] {
    this.scan();
    return this.rows.all().filter((r) => this.present(r)).map((r) => this.toModel(r)).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The model a name names ("x" is "x:latest"; case-insensitive), if its files exist. */
  get(name: string): LibraryModel | undefined {
    this.scan();
    const row = this.rows.get(canonicalName(name));
    return row && this.present(row) ? this.toModel(row) : undefined;
  }

  /** get, or `not_found` naming the closest names. */
  require(name: string): LibraryModel {
    const m = this.get(name);
    if (m) return m;
    throw this.notFound(name);
  }

  /** Records a pulled (or otherwise placed) file under its name (default: the file's name without .gguf). */
  record(input: RecordInput): LibraryModel {
    const path = resolve(input.path);
    const described = describeFile(path);
    const parts = input.parts?.map((p) => resolve(p)) ?? described.parts;
    const name = checkModelName(input.name ?? nameOfFile(path));
    const key = canonicalName(name);
    // The file may already be listed under its file name (seen in the folder before this was recorded).
    const stem = canonicalName(nameOfFile(path));
    for (const r of this.rows.all()) {
      if (r.name !== key && r.name === stem && r.source === undefined && r.preset === undefined && this.abs(r.path) === path) this.rows.delete(r.name);
    }
    const now = this.now().getTime();
    this.rows.put({
      ...this.factsOf({ ...described, parts }),
      name: key, displayName: name, source: input.source, sha256: input.sha256 ?? sha256Sync(path), addedAt: now,
      preset: input.preset,
    });
    return this.toModel(this.rows.get(key)!);
  }

  /**
   * Removes a name; its files are deleted unless another name shares them (a copy or a preset). A name whose file
   * has vanished is removed from the catalog too.
   */
  remove(name: string): { model: LibraryModel; deleted: string[] } {
    this.scan();
    const key = canonicalName(name);
    const row = this.rows.get(key);
    if (!row) throw this.notFound(name);
    const model = this.toModel(row);
    const mine = new Set(row.parts.map((p) => this.abs(p)));
    const shared = this.rows.all().some((r) => r.name !== key && r.parts.some((p) => mine.has(this.abs(p))));
    const deleted: string[] = [];
    if (!shared) {
      for (const p of mine) {
        if (existsSync(p)) { rmSync(p, { force: true }); deleted.push(p); }
      }
      // the vision encoder pulled beside it goes with it
      const encoder = mmprojPathFor(this.abs(row.path));
      if (existsSync(encoder)) { rmSync(encoder, { force: true }); deleted.push(encoder); }
    }
    this.rows.delete(key);
    return { model, deleted };
  }

  /** Another name for a model's file (and preset): no bytes are copied. `conflict` when `dst` is taken. */
  copy(src: string, dst: string): LibraryModel {
    const from = this.require(src);
    const key = canonicalName(checkModelName(dst));
    if (this.rows.get(key)) throw new HearthError('conflict', `a model named "${dst}" already exists; remove it first or pick another name`);
    const row = this.rows.get(canonicalName(from.name))!;
    this.rows.put({ ...row, name: key, displayName: dst, addedAt: this.now().getTime() });
    return this.toModel(this.rows.get(key)!);
  }

  /**
   * A preset: a new name sharing the file of `from`, with a system prompt and default parameters (over those
   * of `from`, when it is a preset itself). An existing name is replaced, as Ollama's create does.
   */
  create(name: string, o: CreateOptions): LibraryModel {
    checkModelName(name);
    const base = this.require(o.from);
    const key = canonicalName(name);
    if (key === canonicalName(base.name)) throw new HearthError('invalid_argument', `"${name}" cannot be created from itself; give the preset another name`);
    if (o.system !== undefined && typeof o.system !== 'string') throw new HearthError('invalid_argument', 'system must be a string');
    const parameters = { ...base.preset?.parameters, ...checkParameters(o.parameters ?? {}) };
    const system = o.system ?? base.preset?.system;
    const preset: ModelPreset = { from: base.name };
    if (system !== undefined) preset.system = system;
    if (Object.keys(parameters).length) preset.parameters = parameters;
    const row = this.rows.get(canonicalName(base.name))!;
    this.rows.put({ ...row, name: key, displayName: name, addedAt: this.now().getTime(), preset });
    return this.toModel(this.rows.get(key)!);
  }

  /** Records the .gguf files in the folder that no row names yet (split models once, by their first part). */
  private scan(): void {
    if (!existsSync(this.dir)) return;
    let files: string[];
    try { files = readdirSync(this.dir); } catch { return; }
    // a vision encoder (NAME.mmproj.gguf, mmproj-*.gguf) goes with its model and is not a model itself
    const ggufs = files.filter((f) => f.toLowerCase().endsWith('.gguf') && !isMmprojFile(f) && (SPLIT_PART.exec(f)?.[1] ?? '00001') === '00001');
    if (ggufs.length === 0) return;
    const rows = this.rows.all();
    const known = new Set(rows.flatMap((r) => r.parts.map((p) => this.abs(p))));
    // a digest the last process did not finish
    if (this.background) for (const r of rows) if (r.sha256 === undefined && this.present(r)) this.hashLater(r.name, this.abs(r.path));
    for (const f of ggufs) {
      const path = join(this.dir, f);
      if (known.has(path)) continue;
      const key = canonicalName(nameOfFile(path));
      if (!NAME.test(key) || this.rows.get(key)) continue; // a name taken by another file: the file stays unlisted
      let described: LibraryModel;
      try {
        if (!statSync(path).isFile()) continue;
        described = describeFile(path);
      } catch {
        continue; // not a readable GGUF (or a split model with parts missing): not a model yet
      }
      this.rows.put({
        ...this.factsOf(described), name: key, displayName: nameOfFile(path), sha256: this.background ? undefined : sha256Sync(path),
        addedAt: this.now().getTime(),
      });
      if (this.background) this.hashLater(key, path);
    }
  }

  private factsOf(m: LibraryModel): Omit<CatalogRow, 'name' | 'displayName' | 'addedAt'> {
    return {
      path: this.stored(m.path), parts: m.parts.map((p) => this.stored(p)), size: m.size, arch: m.arch, paramCount: m.paramCount,
      quantization: m.quantization, contextLength: m.contextLength, modifiedAt: m.modifiedAt.getTime(),
    };
  }

  /** A path as the catalog keeps it: relative to the models folder when inside it. */
  private stored(p: string): string {
    const abs = resolve(p);
    const rel = relative(this.dir, abs);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
  }

  private abs(p: string): string {
    return isAbsolute(p) ? p : join(this.dir, p);
  }

  private present(r: CatalogRow): boolean {
    return r.parts.every((p) => existsSync(this.abs(p)));
  }

  private toModel(r: CatalogRow): LibraryModel {
    const parts = r.parts.map((p) => this.abs(p));
    let size = r.size;
    let modifiedAt = new Date(r.modifiedAt);
    try {
      const stats = parts.map((p) => statSync(p));
      size = stats.reduce((s, st) => s + st.size, 0);
      modifiedAt = new Date(Math.max(...stats.map((s) => s.mtimeMs)));
    } catch { /* vanished: the catalog's facts */ }
    const m: LibraryModel = {
      name: r.displayName, path: this.abs(r.path), parts, size, addedAt: new Date(r.addedAt), modifiedAt,
    };
    if (r.sha256 !== undefined) m.sha256 = r.sha256;
    if (r.source !== undefined) m.source = r.source;
    if (r.arch !== undefined) m.arch = r.arch;
    if (r.paramCount !== undefined) m.paramCount = r.paramCount;
    if (r.quantization !== undefined) m.quantization = r.quantization;
    if (r.contextLength !== undefined) m.contextLength = r.contextLength;
    if (r.preset !== undefined) m.preset = r.preset as ModelPreset;
    return m;
  }

  private notFound(name: string): HearthError {
    const want = canonicalName(name);
    const names = this.rows.all().filter((r) => this.present(r)).map((r) => r.displayName);
    const close = names
      .map((n) => ({ n, d: canonicalName(n).includes(want) || want.includes(canonicalName(n)) ? 0 : editDistance(want, canonicalName(n)) }))
      .filter((x) => x.d <= Math.max(2, Math.floor(want.length / 3)))
      .sort((a, b) => a.d - b.d).slice(0, 3).map((x) => x.n);
    return new HearthError('not_found', `model "${name}" not found in the library (${this.dir})` +
      (close.length ? `; did you mean ${close.map((n) => `"${n}"`).join(', ')}?` : names.length ? '; "hearth list" shows the models' : '; pull one with "hearth pull"'));
  }
}

