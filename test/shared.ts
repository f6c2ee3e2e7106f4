// Locates the shared data folder (model files, vocabularies, text) for tests and benchmarks.
// One environment variable, HEARTH_SHARED, defaulting to ../shared beside the repository.
import { existsSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED_DIR = resolve(repoRoot, process.env.HEARTH_SHARED ?? '../shared');

/** Absolute path of a file in the shared folder; throws a clear error when it is missing. */
export function sharedPath(...parts: string[]): string {
  const p = resolve(SHARED_DIR, ...parts);
  if (!existsSync(p)) {
    throw new Error(`shared data file missing: ${p}. Tests read model files and vocabularies from ` +
      `HEARTH_SHARED (default ../shared next to the repository); see ../shared/DATA.md.`);
  }
  return p;
}

export const REPO_ROOT = repoRoot;
