// Reading untrusted JSON request bodies field by field. Every failure names the field (its dotted path) so
// each dialect can put it in its error body (OpenAI's `param`), and says what was expected.

import { HearthError, type ErrorCode } from '../util/errors.ts';

/** A HearthError about one request field; `param` is its dotted path, e.g. `messages[2].content`. */
export class FieldError extends HearthError {
  readonly param: string;
  constructor(param: string, message: string, code: ErrorCode = 'invalid_argument') {
    super(code, message);
    this.param = param;
  }
}

export function unsupported(param: string, detail: string): FieldError {
  return new FieldError(param, `${param} is not supported by this server: ${detail}`, 'unsupported_field');
}

type Json = Record<string, unknown>;

/**
 * What one request's parsing does with fields nobody read: strict, each is a 400 ("unrecognized field X"); else
 * they are ignored, as Ollama and llama-server do, and listed in `ignored` (dotted paths) for the response's
 * hearth-ignored-fields header and the request's log line. Fields whose meaning would be lost (a feature this
 * server lacks) are refused by the readers with unsupported() in both modes.
 */
export class FieldPolicy {
  /** Most paths kept: the rest are counted. */
  static readonly MAX_LISTED = 32;
  readonly strict: boolean;
  private readonly paths = new Set<string>();
  private extra = 0;

  constructor(strict: boolean) {
    this.strict = strict;
  }

  note(path: string): void {
    if (this.paths.has(path)) return;
    if (this.paths.size < FieldPolicy.MAX_LISTED) this.paths.add(path);
    else this.extra++;
  }

  /** The paths ignored so far, in reading order; when more than MAX_LISTED, a last entry "(N more)". */
  get ignored(): string[] {
    const list = [...this.paths];
    return this.extra ? [...list, `(${this.extra} more)`] : list;
  }
}

const policies = new WeakMap<object, FieldPolicy>();

/** Every Fields later made of `body` (the parsed JSON object, as it is) and its children follows `policy`. */
export function readUnder(body: unknown, policy: FieldPolicy): void {
  if (body !== null && typeof body === 'object') policies.set(body, policy);
}

/** A value as an error message names it: the start of a string, a number, or only the kind of an array or object. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

export interface NumberRule {
  min?: number;
  max?: number;
  /** min is excluded (value must be > min). */
  minExclusive?: boolean;
  integer?: boolean;
}

/**
 * One JSON object under a path. Absent and null fields read as undefined (as OpenAI treats null), every
 * present field must have the stated kind, and rejectUnknown() lists fields nobody read.
 */
export class Fields {
  readonly obj: Json;
  readonly path: string;
  readonly policy: FieldPolicy;
  private readonly seen = new Set<string>();

  /**
   * `policy`: the parent's for a child; for a root, the one its body was registered with (readUnder), else a strict
   * one of its own (presets, direct calls of the converters: unknown fields throw).
   */
  constructor(value: unknown, path = '', policy?: FieldPolicy) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new FieldError(path || 'body', path ? `${path} must be an object; got ${describe(value)}`
        : `the request body must be a JSON object; got ${describe(value)}`);
    }
    this.obj = value as Json;
    this.path = path;
    this.policy = policy ?? policies.get(value) ?? new FieldPolicy(true);
  }

  /** `value` as Fields under `path`, reading under this one's policy. */
  child(value: unknown, path: string): Fields {
    return new Fields(value, path, this.policy);
  }

  /** Each item of an array as Fields under `path[i]`, under this one's policy. */
  children(items: readonly unknown[], path: string): Fields[] {
    return items.map((v, i) => new Fields(v, `${path}[${i}]`, this.policy));
  }

  name(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  /** The raw value, marked as read; undefined when absent or null. */
  raw(key: string): unknown {
    this.seen.add(key);
    const v = Object.hasOwn(this.obj, key) ? this.obj[key] : undefined;
    return v === null ? undefined : v;
  }

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  required<T>(key: string, read: (f: this, key: string) => T | undefined): T {
    const v = read(this, key);
    if (v === undefined) throw new FieldError(this.name(key), `${this.name(key)} is required`);
    return v;
  }

  string(key: string, opts: { nonEmpty?: boolean } = {}): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new FieldError(this.name(key), `${this.name(key)} must be a string; got ${describe(v)}`);
    if (opts.nonEmpty && v.length === 0) throw new FieldError(this.name(key), `${this.name(key)} must not be empty`);
    return v;
  }

  boolean(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw new FieldError(this.name(key), `${this.name(key)} must be true or false; got ${describe(v)}`);
    return v;
  }

  number(key: string, rule: NumberRule = {}): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    return checkNumber(v, this.name(key), rule);
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T | undefined {
    const v = this.string(key);
    if (v === undefined) return undefined;
    if (!(values as readonly string[]).includes(v)) {
      throw new FieldError(this.name(key), `${this.name(key)} must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}; got ${JSON.stringify(v)}`);
    }
    return v as T;
  }

  array(key: string, opts: { nonEmpty?: boolean; max?: number } = {}): unknown[] | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw new FieldError(this.name(key), `${this.name(key)} must be an array; got ${describe(v)}`);
    if (opts.nonEmpty && v.length === 0) throw new FieldError(this.name(key), `${this.name(key)} must not be empty`);
    if (opts.max !== undefined && v.length > opts.max) {
      throw new FieldError(this.name(key), `${this.name(key)} has ${v.length} items; at most ${opts.max} are allowed`);
    }
    return v;
  }

  object(key: string): Fields | undefined {
    const v = this.raw(key);
    return v === undefined ? undefined : new Fields(v, this.name(key), this.policy);
  }

  /** A string or an array of strings (stop sequences), as an array; at most `max` entries. */
  stringList(key: string, max = Infinity): string[] | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) {
      throw new FieldError(this.name(key), `${this.name(key)} must be a string or an array of strings; got ${describe(v)}`);
    }
    if (list.length > max) throw new FieldError(this.name(key), `${this.name(key)} has ${list.length} entries; at most ${max} are allowed`);
    return list as string[];
  }

  /** Fields present (not null) that no reader asked for. */
  unread(): string[] {
    return Object.keys(this.obj).filter((k) => !this.seen.has(k) && this.obj[k] !== null && this.obj[k] !== undefined);
  }

  /** Fields that no reader asked for, recorded as ignored whatever the policy (for dialects that ignore them). */
  ignoreUnknown(): void {
    for (const k of this.unread()) this.policy.note(this.name(k));
  }

  /** Fields that no reader asked for: recorded as ignored, or (strict) a 400 naming the first. */
  rejectUnknown(): void {
    const extra = this.unread();
    if (extra.length === 0) return;
    if (!this.policy.strict) {
      for (const k of extra) this.policy.note(this.name(k));
      return;
    }
    throw new FieldError(this.name(extra[0]), `unrecognized field ${this.name(extra[0])}` +
      (extra.length > 1 ? ` (and ${extra.slice(1).map((k) => this.name(k)).join(', ')})` : ''));
  }
}

export function checkNumber(v: unknown, name: string, rule: NumberRule = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new FieldError(name, `${name} must be a number; got ${describe(v)}`);
  if (rule.integer && !Number.isInteger(v)) throw new FieldError(name, `${name} must be an integer; got ${v}`);
  const { min, max } = rule;
  if (min !== undefined && (rule.minExclusive ? v <= min : v < min)) {
    throw new FieldError(name, `${name} must be ${rule.minExclusive ? '>' : '>='} ${min}${max !== undefined ? ` and <= ${max}` : ''}; got ${v}`);
  }
  if (max !== undefined && v > max) throw new FieldError(name, `${name} must be <= ${max}${min !== undefined ? ` and ${rule.minExclusive ? '>' : '>='} ${min}` : ''}; got ${v}`);
  return v;
}

/** Token ids: non-negative integers below vocabSize. */
export function tokenIds(v: unknown, name: string, vocabSize = Infinity): number[] {
  if (!Array.isArray(v)) throw new FieldError(name, `${name} must be an array of token ids; got ${describe(v)}`);
  v.forEach((id, i) => checkNumber(id, `${name}[${i}]`, { integer: true, min: 0, max: vocabSize - 1 }));
  return v as number[];
}
