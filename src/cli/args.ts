// Small wrappers over node:util parseArgs: typed numbers with clear errors.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { HearthError } from '../util/errors.ts';
import { editDistance } from '../util/edit-distance.ts';
import { resolveModelPath } from '../model/resolve.ts';
import { Library } from '../library/library.ts';
import type { LibraryModel } from '../library/types.ts';
import { databasePath } from '../store/database.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<T extends Options>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true } as const);
  } catch (e) {
    const msg = (e as Error).message;
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(msg)?.[1];
    const near = unknown ? nearestFlag(unknown, Object.keys(options)) : undefined;
    throw new HearthError('invalid_argument', near ? `unknown option ${unknown}: did you mean --${near}?` : msg);
  }
}


/** The command's flag closest to an unknown one, when it is close enough to be a typo. */
export function nearestFlag(given: string, flags: string[]): string | undefined {
  const name = given.replace(/^-+/, '').split('=')[0]!;
  let best: string | undefined;
  let bestD = Infinity;
  for (const f of flags) {
    const d = editDistance(name, f);
    if (d < bestD) [best, bestD] = [f, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) && bestD < name.length ? best : undefined;
}

/** resolveModelPath, but a library name resolves to its file, and a directory is named as one (with the .gguf files in it, if any). */
export function modelPath(arg: string | undefined): string {
  const want = arg ?? process.env.HEARTH_MODEL;
  if (want && existsSync(want) && statSync(want).isDirectory()) {
    const ggufs = readdirSync(want).filter((f) => f.endsWith('.gguf')).sort();
    throw new HearthError('invalid_argument', `${want} is a directory, not a model file: ` +
      (ggufs.length ? `pass one of the .gguf files in it: ${ggufs.join(', ')}` : 'it holds no .gguf files'));
  }
  if (want && !existsSync(want) && existsSync(databasePath())) {
    // A library name (hf.co/OWNER/REPO:QUANT, llama3.2:1b, a preset); without a catalog yet, a file's stem below.
    const lib = Library.open();
    try {
      const m = lib.get(want);
      if (m) return m.path;
    } finally {
      lib.close();
    }
  }
  return resolveModelPath(arg);
}

/** The library entry a MODEL argument names (with its preset), when it is a name the catalog knows, not a file. */
export function libraryModel(arg: string | undefined): LibraryModel | undefined {
  const want = arg ?? process.env.HEARTH_MODEL;
  if (!want || existsSync(want) || !existsSync(databasePath())) return undefined;
  const lib = Library.open();
  try {
    return lib.get(want);
  } finally {
    lib.close();
  }
}

export function num(v: unknown, flag: string, check: (n: number) => boolean = Number.isFinite): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || !check(n)) {
    throw new HearthError('invalid_argument', `${flag}: "${String(v)}" is not a valid value`);
  }
  return n;
}

export const int = (v: unknown, flag: string, min = 0) => num(v, flag, (n) => Number.isInteger(n) && n >= min);
