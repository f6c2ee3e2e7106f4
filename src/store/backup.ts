// An online backup of the hearth database through SQLite's backup API (node:sqlite `backup`): a consistent copy
// taken while hearth serve keeps writing. The file is in WAL mode, so the copy's read transaction does not block
// the server's writers; the copy is written beside FILE, checked (PRAGMA integrity_check) and only then renamed
// into place, so FILE is either a whole, checked database or not there.

import { backup, DatabaseSync } from 'node:sqlite';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { HearthError } from '../util/errors.ts';

export interface BackupResult {
  path: string;
  bytes: number;
  pages: number;
  ms: number;
}

export async function backupDatabase(source: string, dest: string): Promise<BackupResult> {
  if (!existsSync(source)) throw new HearthError('not_found', `no database at ${source} (HEARTH_DB, HEARTH_HOME)`);
  if (existsSync(dest)) throw new HearthError('invalid_argument', `${dest} exists; backups never overwrite a file: name a new one`);
  const t0 = performance.now();
  const tmp = `${dest}.partial-${process.pid}`;
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(source, { readOnly: true, timeout: 5000 });
  } catch (e) {
    throw new HearthError('io_error', `cannot open database ${source}: ${(e as Error).message}`, { cause: e });
  }
  let pages = 0;
  try {
    // every page in one step: one read snapshot, so writes meanwhile neither restart nor tear the copy
    pages = await backup(db, tmp, { rate: 2 ** 30 });
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new HearthError('io_error', `backup of ${source} into ${dest} failed: ${(e as Error).message}`, { cause: e });
  } finally {
    db.close();
  }
  const copy = new DatabaseSync(tmp);
  try {
    const rows = copy.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[];
    const problems = rows.map((r) => r.integrity_check).filter((r) => r !== 'ok');
    if (problems.length) throw new HearthError('io_error', `the copy failed its integrity check: ${problems.slice(0, 3).join('; ')}`);
    // a self-contained file: no -wal beside it
    copy.exec('PRAGMA journal_mode = DELETE');
  } catch (e) {
    copy.close();
    rmSync(tmp, { force: true });
    throw e;
  }
  copy.close();
  renameSync(tmp, dest);
  return { path: dest, bytes: statSync(dest).size, pages, ms: performance.now() - t0 };
}
