// GGUF metadata access for the tokenizer: reading a file's metadata through the GGUF reader, and
// typed accessors that tolerate both the GGUFValue shape ({ type, value }) and plain values.
import { HearthError } from '../util/errors.ts';
import { openGGUF } from '../gguf/reader.ts';
import type { GGUFValue } from '../gguf/value-types.ts';

export type GGUFMetadata = Map<string, GGUFValue | unknown>;

/** Reads the metadata of a GGUF file (tensor data is not read). */
export function readGGUFMetadata(path: string): Map<string, GGUFValue> {
  const f = openGGUF(path);
  try {
    return f.metadata;
  } finally {
    f.close();
  }
}

// ---- accessors -------------------------------------------------------------------------------

function raw(md: GGUFMetadata, key: string): unknown {
  const v = md.get(key);
  if (v !== null && typeof v === 'object' && 'value' in (v as object) && 'type' in (v as object)) {
    return (v as { value: unknown }).value;
  }
  return v;
}

function bad(key: string, what: string): HearthError {
  return new HearthError('tokenizer_invalid', `metadata key "${key}" must be ${what}`);
}

export function metaString(md: GGUFMetadata, key: string): string | undefined {
  const v = raw(md, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(key, 'a string');
  return v;
}

export function metaNumber(md: GGUFMetadata, key: string): number | undefined {
  const v = raw(md, key);
  if (v === undefined) return undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v !== 'number') throw bad(key, 'a number');
  return v;
}

export function metaBool(md: GGUFMetadata, key: string): boolean | undefined {
  const v = raw(md, key);
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  throw bad(key, 'a boolean');
}

export function metaStringArray(md: GGUFMetadata, key: string): string[] | undefined {
  const v = raw(md, key);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || (v.length > 0 && typeof v[0] !== 'string')) throw bad(key, 'an array of strings');
  return v as string[];
}

export function metaNumberArray(md: GGUFMetadata, key: string): ArrayLike<number> | undefined {
  const v = raw(md, key);
  if (v === undefined) return undefined;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    if (v instanceof BigInt64Array || v instanceof BigUint64Array) return Array.from(v, Number);
    return v as unknown as ArrayLike<number>;
  }
  if (Array.isArray(v) && (v.length === 0 || typeof v[0] === 'number')) return v as number[];
  throw bad(key, 'an array of numbers');
}
