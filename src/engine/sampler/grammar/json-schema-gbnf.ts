// GBNF building blocks for the JSON-Schema compiler: rule naming, literals, character sets, repetition
// and integer ranges. Each piece emits text that llama.cpp's GBNF parser (src/llama-grammar.cpp) reads.

/** llama.cpp's converter's optional whitespace between tokens: nothing, one space, or one or two newlines and an indent. */
export const SPACE_RULE = '| " " | "\\n"{1,2} [ \\t]{0,20}';

/** One JSON string character: any but `"`, `\` and controls raw, or one escape (`\/` included, which JSON allows). */
export const CHAR_RULE = '[^"\\\\\\x00-\\x1F] | "\\\\" (["\\\\/bfnrt] | "u" [0-9a-fA-F]{4})';

/** The shared rules the compiler refers to by name, added on first use together with what they depend on. */
export const PRIMITIVES: Readonly<Record<string, { body: string; deps: readonly string[] }>> = {
  space: { body: SPACE_RULE, deps: [] },
  char: { body: CHAR_RULE, deps: [] },
  string: { body: '"\\"" char* "\\""', deps: ['char'] },
  // One code point for minLength/maxLength: a surrogate pair written as two \u escapes would count as two here.
  'counted-char': { body: '[^"\\\\\\x00-\\x1F] | "\\\\" (["\\\\/bfnrt] | "u" ([0-9a-cA-CefEF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}))', deps: [] },
  boolean: { body: '("true" | "false")', deps: [] },
  null: { body: '"null"', deps: [] },
  'integral-part': { body: '[0] | [1-9] [0-9]{0,15}', deps: [] },
  'decimal-part': { body: '[0-9]{1,16}', deps: [] },
  integer: { body: '("-"? integral-part)', deps: ['integral-part'] },
  number: { body: '("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?', deps: ['integral-part', 'decimal-part'] },
  value: { body: 'object | array | string | number | boolean | null', deps: ['object', 'array', 'string', 'number', 'boolean', 'null'] },
  object: { body: '"{" space ( string ":" space value ( "," space string ":" space value )* )? space "}"', deps: ['space', 'string', 'value'] },
  array: { body: '"[" space ( value ( "," space value )* )? space "]"', deps: ['space', 'value'] },
  // Days per month without the leap-year rule: 02-29 is refused rather than accepted in every year.
  date: {
    body: '[0-9]{4} "-" ( ("0" [13578] | "1" [02]) "-" ( "0" [1-9] | [12] [0-9] | "3" [01] ) | ("0" [469] | "11") "-" ( "0" [1-9] | [12] [0-9] | "30" ) | "02" "-" ( "0" [1-9] | "1" [0-9] | "2" [0-8] ) )',
    deps: [],
  },
  time: { body: '( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{1,9} )? ( [zZ] | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )', deps: [] },
  'date-time': { body: 'date [tT] time', deps: ['date', 'time'] },
  'date-string': { body: '"\\"" date "\\""', deps: ['date'] },
  'time-string': { body: '"\\"" time "\\""', deps: ['time'] },
  'date-time-string': { body: '"\\"" date-time "\\""', deps: ['date-time'] },
  uuid: { body: '"\\"" [0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12} "\\""', deps: [] },
};

/** Rules in the order they are made, root first; names from schema paths never take a primitive's name. */
export class RuleSet {
  private readonly rules = new Map<string, string>();

  constructor() {
    this.rules.set('root', '');
  }

  /** Adds the named primitive (and its dependencies) once; returns its name. */
  primitive(name: keyof typeof PRIMITIVES & string): string {
    const p = PRIMITIVES[name];
    if (p === undefined) throw new Error(`no primitive ${name}`);
    if (!this.rules.has(name)) {
      this.rules.set(name, p.body);
      for (const d of p.deps) this.primitive(d);
    }
    return name;
  }

  /** A fresh rule name derived from `hint` (an identical body under the same name is shared). */
  add(hint: string, body: string): string {
    if (hint === 'root') {
      this.rules.set('root', body);
      return 'root';
    }
    const base = ruleName(hint);
    if (this.rules.get(base) === body) return base;
    const name = this.reserve(base);
    this.rules.set(name, body);
    return name;
  }

  /** A name no rule has yet, set aside for a body filled in later (a recursive $ref). */
  reserve(hint: string): string {
    const base = ruleName(hint);
    let name = base;
    for (let i = 0; this.rules.has(name) || name in PRIMITIVES; i++) name = `${base}${i}`;
    this.rules.set(name, '');
    return name;
  }

  set(name: string, body: string): void {
    this.rules.set(name, body);
  }

  /** The grammar: the rules root reaches, sorted by name as llama.cpp's converter writes them. */
  format(): string {
    const reached = new Set<string>(['root']);
    const queue = ['root'];
    for (let n = queue.pop(); n !== undefined; n = queue.pop()) {
      for (const ref of references(this.rules.get(n) ?? '')) {
        if (!reached.has(ref) && this.rules.has(ref)) {
          reached.add(ref);
          queue.push(ref);
        }
      }
    }
    return [...reached].sort().map((n) => `${n} ::= ${this.rules.get(n)}\n`).join('');
  }
}

/** The rule names a GBNF body refers to (outside its literals and character classes). */
function references(body: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '"' || c === '[') {
      const close = c === '"' ? '"' : ']';
      for (i++; i < body.length && body[i] !== close; i++) if (body[i] === '\\') i++;
    } else if (/[a-zA-Z]/.test(c)) {
      let j = i;
      while (j < body.length && /[a-zA-Z0-9-]/.test(body[j]!)) j++;
      out.push(body.slice(i, j));
      i = j - 1;
    } else if (c === '{') {
      while (i < body.length && body[i] !== '}') i++;
    }
  }
  return out;
}

/** GBNF rule names are [a-zA-Z0-9-]+. */
function ruleName(hint: string): string {
  const s = hint.replace(/[^a-zA-Z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return s === '' ? 'r' : s;
}

/** A GBNF string literal for `s` (the exact characters, escaped for the grammar). */
export function literal(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f) out += hexEscape(cp);
    else out += ch;
  }
  return `${out}"`;
}

function hexEscape(cp: number): string {
  if (cp <= 0xff) return `\\x${cp.toString(16).toUpperCase().padStart(2, '0')}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return `\\U${cp.toString(16).toUpperCase().padStart(8, '0')}`;
}

/** A code point inside a GBNF [...] class: printable ASCII as itself unless it is special there. */
function classChar(cp: number): string {
  if (cp >= 0x21 && cp <= 0x7e && !'\\]-^["'.includes(String.fromCodePoint(cp))) return String.fromCodePoint(cp);
  // Line and paragraph separators as escapes too: they read as line ends to many tools.
  if (cp >= 0xa0 && cp <= 0xffff && !(cp >= 0xd800 && cp <= 0xdfff) && cp !== 0x2028 && cp !== 0x2029) return String.fromCodePoint(cp);
  return hexEscape(cp);
}

/** Sorted, disjoint, inclusive code point ranges. */
export type CharSet = ReadonlyArray<readonly [number, number]>;

export const MAX_CP = 0x10ffff;

export function normalise(ranges: Iterable<readonly [number, number]>): CharSet {
  const sorted = [...ranges].filter(([a, b]) => a <= b).sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

export function complement(set: CharSet): CharSet {
  const out: Array<[number, number]> = [];
  let next = 0;
  for (const [a, b] of set) {
    if (a > next) out.push([next, a - 1]);
    next = b + 1;
  }
  if (next <= MAX_CP) out.push([next, MAX_CP]);
  return out;
}

export function intersect(x: CharSet, y: CharSet): CharSet {
  return complement(normalise([...complement(x), ...complement(y)]));
}

export function has(set: CharSet, cp: number): boolean {
  return set.some(([a, b]) => cp >= a && cp <= b);
}

function classOf(set: CharSet, negate: boolean): string {
  return `[${negate ? '^' : ''}${set.map(([a, b]) => (a === b ? classChar(a) : `${classChar(a)}-${classChar(b)}`)).join('')}]`;
}

/** Characters a JSON string holds unescaped (surrogates are not characters). */
const RAW_JSON: CharSet = normalise([[0x20, 0x21], [0x23, 0x5b], [0x5d, 0xd7ff], [0xe000, MAX_CP]]);

/** The JSON escape of a character JSON will not hold raw. */
export function jsonEscape(cp: number): string {
  const short: Record<number, string> = { 0x22: '\\"', 0x5c: '\\\\', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t' };
  return short[cp] ?? `\\u${cp.toString(16).padStart(4, '0')}`;
}

/** The text of `cp` inside a JSON string. */
export function jsonChar(cp: number): string {
  return has(RAW_JSON, cp) ? String.fromCodePoint(cp) : jsonEscape(cp);
}

/**
 * GBNF for one character of `set` as it is written inside a JSON string: the raw ones through a class, and `"`, `\` and
 * controls through their JSON escapes (one spelling each).
 */
export function jsonCharSet(set: CharSet): string {
  const alts: string[] = [];
  const raw = intersect(set, RAW_JSON);
  if (raw.length > 0) {
    const rest = intersect(complement(raw), RAW_JSON);
    // [^...] lists what is left out; pick whichever class is shorter.
    const negated = normalise([...complement(RAW_JSON), ...rest]);
    alts.push(negated.length < raw.length ? classOf(negated, true) : classOf(raw, false));
  }
  for (const cp of [0x22, 0x5c]) if (has(set, cp)) alts.push(literal(jsonEscape(cp)));
  const controls = intersect(set, [[0, 0x1f]]);
  const count = controls.reduce((n, [a, b]) => n + b - a + 1, 0);
  if (count === 32) alts.push('"\\\\" [bfnrt]', '"\\\\u00" [01] [0-9a-fA-F]');
  else for (const [a, b] of controls) for (let cp = a; cp <= b; cp++) alts.push(literal(jsonEscape(cp)));
  if (alts.length === 0) throw new Error('empty character set');
  return alts.length === 1 ? alts[0]! : `(${alts.join(' | ')})`;
}

/** `item` min..max times (max Infinity for no bound), with `sep` between items when given. */
export function repetition(item: string, min: number, max: number, sep?: string): string {
  if (max === 0) return '';
  if (sep !== undefined) {
    const rest = repetition(`(${sep} ${item})`, Math.max(min - 1, 0), max - 1);
    const seq = rest === '' ? item : `${item} ${rest}`;
    return min === 0 ? `(${seq})?` : seq;
  }
  if (min === 0 && max === 1) return `${item}?`;
  if (min === 0 && max === Infinity) return `${item}*`;
  if (min === 1 && max === Infinity) return `${item}+`;
  if (min === max) return `${item}{${min}}`;
  return `${item}{${min},${max === Infinity ? '' : max}}`;
}

function digits(n: number): string {
  return n === 0 ? '' : n === 1 ? ' [0-9]' : ` [0-9]{${n}}`;
}

/** Decimal strings of one length from a to b (a <= b, digit by digit; a leading zero is just a digit here). */
function sameLengthRange(a: string, b: string): string {
  if (a === b) return literal(a);
  let i = 0;
  while (a[i] === b[i]) i++;
  const prefix = i > 0 ? `${literal(a.slice(0, i))} ` : '';
  const da = Number(a[i]), db = Number(b[i]);
  const ra = a.slice(i + 1), rb = b.slice(i + 1);
  const k = ra.length;
  const span = (x: number, y: number) => (x === y ? `[${x}]` : `[${x}-${y}]`);
  if (k === 0) return `${prefix}${span(da, db)}`;
  const lowFull = /^0*$/.test(ra), highFull = /^9*$/.test(rb);
  const alts: string[] = [];
  if (!lowFull) alts.push(`[${da}] (${sameLengthRange(ra, '9'.repeat(k))})`);
  const lo = lowFull ? da : da + 1, hi = highFull ? db : db - 1;
  if (lo <= hi) alts.push(`${span(lo, hi)}${digits(k)}`);
  if (!highFull) alts.push(`[${db}] (${sameLengthRange('0'.repeat(k), rb)})`);
  return alts.length === 1 ? `${prefix}${alts[0]}` : `${prefix}(${alts.join(' | ')})`;
}

/** Decimal integers from lo to hi without sign or leading zeros, 0 <= lo <= hi. */
function naturalRange(lo: number, hi: number): string {
  const alts: string[] = [];
  const ls = String(lo).length, hs = String(hi).length;
  for (let len = ls; len <= hs; len++) {
    const from = len === ls ? String(lo) : `1${'0'.repeat(len - 1)}`;
    const to = len === hs ? String(hi) : '9'.repeat(len);
    alts.push(sameLengthRange(from, to));
  }
  return alts.join(' | ');
}

/** Integers >= lo >= 0, up to the 16 digits the unbounded integer rule allows. */
function naturalAtLeast(lo: number): string {
  if (lo === 0) return '[0] | [1-9] [0-9]{0,15}';
  if (lo === 1) return '[1-9] [0-9]{0,15}';
  if (lo <= 9) return `${lo === 2 ? '[1]' : `[1-${lo - 1}]`} [0-9]{1,15} | [${lo}-9] [0-9]{0,15}`;
  const s = String(lo);
  const alts = [sameLengthRange(s, '9'.repeat(s.length))];
  if (s.length < 16) alts.push(`[1-9] [0-9]{${s.length},15}`);
  return alts.join(' | ');
}

/** GBNF for JSON integers in [min, max]; undefined for no bound. Both are safe integers, min <= max. */
export function integerRange(min: number | undefined, max: number | undefined): string {
  const anyPositive = '[1-9] [0-9]{0,15}';
  const alts: string[] = [];
  if (min !== undefined && max !== undefined) {
    if (min < 0) alts.push(`"-" (${naturalRange(Math.max(1, -max), -min)})`);
    if (max >= 0) alts.push(naturalRange(Math.max(0, min), max));
  } else if (min !== undefined) {
    if (min < 0) alts.push(`"-" (${naturalRange(1, -min)})`, '"0"', anyPositive);
    else alts.push(naturalAtLeast(min));
  } else if (max !== undefined) {
    if (max >= 0) alts.push(`"-" ${anyPositive}`, naturalRange(0, max));
    else alts.push(`"-" (${naturalAtLeast(-max)})`);
  } else {
    throw new Error('integerRange needs a bound');
  }
  return `(${alts.join(' | ')})`;
}

/** A bound of a number range: an integer, and whether the bound itself is left out. */
export interface NumberBound { readonly value: number; readonly open: boolean }

const ANY_FRACTION = '("." [0-9]{1,16})?';
const ZERO_FRACTION = '("." [0]{1,16})?';
/** A fraction above zero: some digit is not 0. */
const NONZERO_FRACTION = '"." [0]{0,15} [1-9] [0-9]{0,15}';

/** Magnitudes (no sign) from lo to hi (undefined: no bound), 0 <= lo <= hi, written without exponent. */
function magnitudeRange(lo: NumberBound, hi: NumberBound | undefined): string[] {
  const alts: string[] = [];
  if (hi !== undefined && lo.value === hi.value) return lo.open || hi.open ? [] : [`"${lo.value}" ${ZERO_FRACTION}`];
  // The integer part lo: any fraction, or only a nonzero one when lo is left out.
  alts.push(lo.open ? `"${lo.value}" ${NONZERO_FRACTION}` : `"${lo.value}" ${ANY_FRACTION}`);
  if (hi === undefined) {
    alts.push(`(${naturalAtLeast(lo.value + 1)}) ${ANY_FRACTION}`);
  } else {
    if (lo.value + 1 <= hi.value - 1) alts.push(`(${naturalRange(lo.value + 1, hi.value - 1)}) ${ANY_FRACTION}`);
    if (!hi.open) alts.push(`"${hi.value}" ${ZERO_FRACTION}`);
  }
  return alts;
}

/**
 * GBNF for JSON numbers between integer bounds (undefined: none), without exponent and with at most 16 digits
 * either side of the point. Throws when no number lies between them.
 */
export function numberRange(min: NumberBound | undefined, max: NumberBound | undefined): string {
  const alts: string[] = [];
  // x >= 0
  if (max === undefined || max.value > 0 || (max.value === 0 && !max.open)) {
    const lo = min === undefined || min.value < 0 ? { value: 0, open: false } : min;
    if (max === undefined || lo.value < max.value || (lo.value === max.value && !lo.open && !max.open)) alts.push(...magnitudeRange(lo, max));
  }
  // x < 0, as "-" and its magnitude y: y > 0 and y >= -max, y <= -min
  if (min === undefined || min.value < 0) {
    const lo = max === undefined || max.value >= 0 ? { value: 0, open: true } : { value: -max.value, open: max.open };
    const hi = min === undefined ? undefined : { value: -min.value, open: min.open };
    if (hi === undefined || lo.value < hi.value) {
      const neg = magnitudeRange(lo, hi);
      if (neg.length > 0) alts.push(`"-" (${neg.join(' | ')})`);
    }
  }
  if (alts.length === 0) throw new Error('empty number range');
  return `(${alts.join(' | ')})`;
}
