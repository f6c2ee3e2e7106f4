// Finds a model file from what a person typed: a path, or a name in the models folder (HEARTH_MODELS).

import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { HearthError } from '../util/errors.ts';
import { parseSplitName } from '../gguf/split.ts';

export function modelsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HEARTH_MODELS ?? join(env.HEARTH_HOME ?? join(homedir(), '.hearth'), 'models');
}

/** Model name shown to clients: the file name without `.gguf`. */
export function modelNameFromPath(path: string): string {
  return basename(path).replace(/\.gguf$/i, '');
}

/**
 * `arg` may be a path to a .gguf file or a model name found as NAME.gguf in the models folder (or, for a split
 * model, as its first part NAME-00001-of-0000N.gguf);
 * without `arg`, HEARTH_MODEL names the default model.
 */
export function resolveModelPath(arg: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const want = arg ?? env.HEARTH_MODEL;
  if (!want) {
    throw new HearthError('invalid_argument', 'no model given: pass a .gguf path or a model name, or set HEARTH_MODEL');
  }
  if (existsSync(want) && statSync(want).isFile()) return resolve(want);
  // A bare name must stay inside the models folder: no separators, no parent references.
  if (/[\\/]/.test(want) || want.startsWith('.')) {
    throw new HearthError('not_found', `model file ${want} does not exist`);
  }
  const dir = modelsDir(env);
  const candidate = join(dir, want.endsWith('.gguf') ? want : `${want}.gguf`);
  if (existsSync(candidate)) return candidate;
  const first = splitFirstPart(dir, basename(candidate).replace(/\.gguf$/i, ''));
  if (first) return first;
  throw new HearthError('not_found', `model "${want}" not found: no such file, and no ${basename(candidate)} in ${dir} (HEARTH_MODELS)`);
}

/** The first part of a split model NAME in `dir` (NAME-00001-of-0000N.gguf), if there is one. */
function splitFirstPart(dir: string, name: string): string | undefined {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return undefined; // no models folder: the caller's not_found says where it looked
  }
  const file = files.find((f) => {
    const s = parseSplitName(f);
    return s !== undefined && s.no === 0 && s.prefix === name;
  });
  return file === undefined ? undefined : join(dir, file);
}
