// A model file's library facts from its header alone (no tensor data, no tokenizer): what `hearth list`,
// /api/tags and the model manager show for a file that was pulled, created or dropped into the folder.

import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { openGGUF } from '../gguf/reader.ts';
import { parseSplitName, splitPartNames } from '../gguf/split.ts';
import { dominantType } from '../engine/model-info.ts';
import { modelNameFromPath } from '../model/resolve.ts';
import { HearthError } from '../util/errors.ts';
import type { LibraryModel, ModelSource } from './types.ts';

// The part names are the loader's (gguf/split.ts), so what the library lists as one model is what loads as one.
export { splitPartNames };

/** The files of a model: the path alone, or every part of a split GGUF (`NAME-00001-of-0000N.gguf`) in order. */
export function modelParts(path: string): string[] {
  const names = splitPartNames(basename(path));
  if (!names) return [path];
  const count = names.length;
  const parts = names.map((n) => join(dirname(path), n));
  const missing = parts.filter((p) => !existsSync(p));
  if (missing.length) {
    throw new HearthError('not_found', `${basename(path)} is part of a ${count}-part model; missing: ${missing.map((p) => basename(p)).join(', ')}`);
  }
  return parts;
}

/** The library name of a file: its name without .gguf (a split model: without the -00001-of-0000N suffix). */
export function nameOfFile(path: string): string {
  return parseSplitName(basename(path))?.prefix ?? modelNameFromPath(path);
}

/** Reads a model file's header and describes it; `name` defaults to the file's name. */
export function describeFile(path: string, extra: Partial<LibraryModel> = {}): LibraryModel {
  const parts = modelParts(path);
  const file = openGGUF(parts[0]!);
  try {
    const md = file.metadata;
    const arch = md.getString('general.architecture', undefined);
    const tensors = [...file.tensors];
    for (const part of parts.slice(1)) {
      const f = openGGUF(part);
      try { tensors.push(...f.tensors); } finally { f.close(); }
    }
    const paramCount = tensors.reduce((s, t) => s + t.nElements, 0);
    const stats = parts.map((p) => statSync(p));
    const modifiedAt = new Date(Math.max(...stats.map((s) => s.mtimeMs)));
    return {
      name: nameOfFile(path),
      path: parts[0]!,
      parts,
      size: stats.reduce((s, st) => s + st.size, 0),
      arch,
      paramCount,
      // over every part: the first may hold only the embedding (or nothing, with --no-tensor-first-split)
      quantization: dominantType({ tensors }),
      contextLength: arch === undefined ? undefined : md.getNumber(`${arch}.context_length`, undefined),
      addedAt: modifiedAt,
      modifiedAt,
      ...extra,
    };
  } finally {
    file.close();
  }
}

/** Names compare case-insensitively, and "x" is "x:latest". */
export function canonicalName(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith(':latest') ? n.slice(0, -':latest'.length) : n;
}

/** A fixed set of files (the MODEL arguments of `hearth serve`), each under its own name or the alias given. */
export function fileSource(files: readonly { path: string; name?: string }[]): ModelSource {
  return fixedSource(files.map((f) => describeFile(f.path, f.name ? { name: f.name } : {})));
}

/** A fixed set of models (files described, or library entries), each answering to its name. */
export function fixedSource(list: readonly LibraryModel[]): ModelSource {
  const models = [...list];
  const seen = new Map<string, string>();
  for (const m of models) {
    const key = canonicalName(m.name);
    if (seen.has(key)) throw new HearthError('invalid_argument', `two models are named "${m.name}" (${seen.get(key)} and ${m.path}); give one an --alias`);
    seen.set(key, m.path);
  }
  models.sort((a, b) => a.name.localeCompare(b.name));
  return {
    list: () => models,
    get: (name) => models.find((m) => canonicalName(m.name) === canonicalName(name)),
  };
}
