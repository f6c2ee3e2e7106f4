// JSON Schema keyword tables and the helpers the compiler shares: JSON pointers, typed errors, and the merge of
// allOf parts that are not objects.
import { HearthError } from '../../../util/errors.ts';

export type Schema = Record<string, unknown>;
export type TypeName = 'string' | 'number' | 'integer' | 'boolean' | 'null' | 'object' | 'array';
export const TYPES: ReadonlySet<string> = new Set(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array']);

/** Keywords that do not constrain values; `$defs`/`definitions` only hold schemas for $ref. */
export const ANNOTATIONS: ReadonlySet<string> = new Set(['title', 'description', '$schema', '$id', '$comment', 'default', 'examples',
  'deprecated', 'readOnly', 'writeOnly', '$defs', 'definitions']);
export const OBJECT_KEYWORDS = ['properties', 'required', 'additionalProperties'];
export const ARRAY_KEYWORDS = ['items', 'prefixItems', 'additionalItems', 'minItems', 'maxItems'];
export const STRING_KEYWORDS = ['pattern', 'minLength', 'maxLength', 'format'];
export const BOUND_KEYWORDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'];
export const GENERAL_KEYWORDS = ['type', 'enum', 'const', 'anyOf', 'oneOf', 'allOf', '$ref'];
export const KNOWN: ReadonlySet<string> = new Set([...ANNOTATIONS, ...OBJECT_KEYWORDS, ...ARRAY_KEYWORDS, ...STRING_KEYWORDS,
  ...BOUND_KEYWORDS, ...GENERAL_KEYWORDS]);
/** Keywords that constrain nothing at these values. */
export const VACUOUS: Readonly<Record<string, unknown>> = { uniqueItems: false, minProperties: 0, minContains: 1 };
export const FORMATS: Readonly<Record<string, 'date-string' | 'time-string' | 'date-time-string' | 'uuid'>> = {
  date: 'date-string', time: 'time-string', 'date-time': 'date-time-string', uuid: 'uuid',
};

export function pointer(ptr: string, key: string | number): string {
  return `${ptr}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

export function at(ptr: string): string {
  return ptr === '' ? '/' : ptr;
}

export function unsupported(keyword: string, ptr: string, why: string): never {
  throw new HearthError('unsupported_field', `json schema: ${keyword} at ${at(ptr)} is not supported: ${why}`);
}

export function invalid(ptr: string, why: string): never {
  throw new HearthError('invalid_argument', `json schema: ${why} at ${at(ptr)}`);
}

export function isSchema(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isSchema(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

export function jsonType(v: unknown): TypeName {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as TypeName;
}

/** The keys of `s` that constrain values (not annotations). */
export function constraining(s: Schema): string[] {
  return Object.keys(s).filter((k) => !ANNOTATIONS.has(k));
}

/** Keywords whose conjunction is the tighter bound. */
export const LOWER_BOUNDS = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems'];
export const UPPER_BOUNDS = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems'];

/**
 * One schema for allOf over non-object parts: each keyword constrains on its own, so the parts' keywords side by side
 * are their conjunction; a keyword in several parts takes the tighter bound, the common types or enum values, or must agree.
 */
export function mergeKeywords(parts: Array<{ part: Schema; ptr: string }>, ptr: string): Schema {
  const out: Schema = {};
  for (const { part, ptr: p } of parts) {
    for (const [k, v] of Object.entries(part)) {
      if (ANNOTATIONS.has(k)) continue;
      if (!(k in out) || sameJson(out[k], v)) {
        out[k] = v;
      } else if (LOWER_BOUNDS.includes(k) && typeof v === 'number' && typeof out[k] === 'number') {
        out[k] = Math.max(out[k] as number, v);
      } else if (UPPER_BOUNDS.includes(k) && typeof v === 'number' && typeof out[k] === 'number') {
        out[k] = Math.min(out[k] as number, v);
      } else if (k === 'type') {
        const a = ([] as unknown[]).concat(out[k]), b = ([] as unknown[]).concat(v);
        const both = a.filter((t) => b.includes(t) || (t === 'integer' && b.includes('number')))
          .concat(b.filter((t) => t === 'integer' && a.includes('number') && !a.includes('integer')));
        if (both.length === 0) invalid(ptr, `allOf: no value has both type ${JSON.stringify(out[k])} and ${JSON.stringify(v)} (${at(p)})`);
        out[k] = both.length === 1 ? both[0] : both;
      } else if (k === 'enum' && Array.isArray(v) && Array.isArray(out[k])) {
        out[k] = (out[k] as unknown[]).filter((x) => v.some((y) => sameJson(x, y)));
        if ((out[k] as unknown[]).length === 0) invalid(ptr, `allOf: no value is in every enum (${at(p)})`);
      } else if (k === 'const') {
        invalid(ptr, `allOf: the consts ${JSON.stringify(out[k])} and ${JSON.stringify(v)} (${at(p)}) differ`);
      } else {
        unsupported(k, pointer(p, k), `allOf has ${k} in more than one part with different values`);
      }
    }
  }
  return out;
}

export function without(s: Schema, keys: string[]): Schema {
  return Object.fromEntries(Object.entries(s).filter(([k]) => !keys.includes(k)));
}
