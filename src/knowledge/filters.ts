// OpenAI's attribute filters for vector store search and file_search: a comparison ({type: eq | ne | gt | gte |
// lt | lte | in | nin, key, value}) or a compound ({type: and | or, filters: [...]}), checked against a file's
// attributes (strings, numbers, booleans).

import { HearthError } from '../util/errors.ts';

export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue>;

export type Filter =
  | { type: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte'; key: string; value: AttributeValue }
  | { type: 'in' | 'nin'; key: string; value: AttributeValue[] }
  | { type: 'and' | 'or'; filters: Filter[] };

const COMPARISONS = new Set(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin']);
const scalar = (v: unknown): v is AttributeValue => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** Reads a filter from JSON, naming the field (`where`) of the first thing wrong. */
export function parseFilter(x: unknown, where = 'filters'): Filter {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new HearthError('invalid_argument', `${where} must be an object`);
  const o = x as Record<string, unknown>;
  if (o.type === 'and' || o.type === 'or') {
    if (!Array.isArray(o.filters)) throw new HearthError('invalid_argument', `${where}.filters must be an array`);
    return { type: o.type, filters: o.filters.map((f, i) => parseFilter(f, `${where}.filters[${i}]`)) };
  }
  if (typeof o.type !== 'string' || !COMPARISONS.has(o.type)) {
    throw new HearthError('invalid_argument', `${where}.type must be one of eq, ne, gt, gte, lt, lte, in, nin, and, or; got ${JSON.stringify(o.type)}`);
  }
  if (typeof o.key !== 'string' || o.key === '') throw new HearthError('invalid_argument', `${where}.key must be a non-empty string`);
  if (o.type === 'in' || o.type === 'nin') {
    if (!Array.isArray(o.value) || !o.value.every(scalar)) throw new HearthError('invalid_argument', `${where}.value must be an array of strings, numbers or booleans`);
    return { type: o.type, key: o.key, value: o.value };
  }
  if (!scalar(o.value)) throw new HearthError('invalid_argument', `${where}.value must be a string, number or boolean`);
  return { type: o.type as 'eq', key: o.key, value: o.value };
}

/** Reads a file's attributes: at most 16 keys, string values up to 512 characters (OpenAI's limits). */
export function parseAttributes(x: unknown, where = 'attributes'): Attributes {
  if (x === undefined || x === null) return {};
  if (typeof x !== 'object' || Array.isArray(x)) throw new HearthError('invalid_argument', `${where} must be an object`);
  const entries = Object.entries(x as Record<string, unknown>);
  if (entries.length > 16) throw new HearthError('invalid_argument', `${where} has ${entries.length} keys; at most 16`);
  for (const [k, v] of entries) {
    if (k.length > 64) throw new HearthError('invalid_argument', `${where} key "${k.slice(0, 20)}…" is longer than 64 characters`);
    if (!scalar(v)) throw new HearthError('invalid_argument', `${where}.${k} must be a string, number or boolean`);
    if (typeof v === 'string' && v.length > 512) throw new HearthError('invalid_argument', `${where}.${k} is longer than 512 characters`);
  }
  return x as Attributes;
}

function compare(a: AttributeValue | undefined, op: string, b: AttributeValue): boolean {
  if (op === 'eq') return a === b;
  if (op === 'ne') return a !== b;
  if (a === undefined || typeof a !== typeof b || typeof a === 'boolean') return false;
  switch (op) {
    case 'gt': return a > b;
    case 'gte': return a >= b;
    case 'lt': return a < b;
    default: return a <= b;
  }
}

export function matches(f: Filter, attrs: Attributes): boolean {
  switch (f.type) {
    case 'and': return f.filters.every((g) => matches(g, attrs));
    case 'or': return f.filters.some((g) => matches(g, attrs));
    case 'in': return f.value.includes(attrs[f.key]);
    case 'nin': return !f.value.includes(attrs[f.key]);
    default: return compare(attrs[f.key], f.type, f.value);
  }
}
