// GBNF (llama.cpp grammars/README.md) → a flat, index-addressed grammar the matcher walks with integer
// positions. Repetition is rewritten into helper rules the way llama.cpp's parser does
// (S* → S' ::= S S' | ), so the matcher only knows sequences, alternatives, rule references and char classes.
import { HearthError } from '../../../util/errors.ts';
import { editDistance } from '../../../util/edit-distance.ts';

/** End of one alternative in `Grammar.code`. */
export const END = -1;
/** Largest repetition count accepted in {m,n} (llama.cpp's MAX_REPETITION_THRESHOLD). */
const MAX_REPETITION = 2000;
const MAX_CODEPOINT = 0x10ffff;

/**
 * A parsed GBNF grammar. Every alternative of every rule is one run of `code` ending in END (-1);
 * an entry >= 0 is a char class (an index into `classes`), an entry <= -2 references rule (-2 - entry).
 * A position in the grammar is an index into `code`, which is what the matcher's stacks hold.
 */
export interface Grammar {
  /** Rule names by index; helper rules made for groups and repetitions are named `parent_N`. */
  readonly names: readonly string[];
  /** Start positions in `code` of each rule's alternatives. */
  readonly alternatives: readonly Int32Array[];
  readonly code: Int32Array;
  /** Char classes as sorted, disjoint, inclusive code-point ranges [lo0, hi0, lo1, hi1, ...]. */
  readonly classes: readonly Int32Array[];
  /** Index of the start rule. */
  readonly root: number;
}

type Sym = number; // class index >= 0, or -2 - rule

interface RuleDraft { name: string; alts: Sym[][] | undefined; at: number; synthetic: boolean }

class Parser {
  readonly src: string;
  i = 0;
  readonly rules: RuleDraft[] = [];
  readonly ids = new Map<string, number>();
  readonly firstRef = new Map<number, number>();
  readonly classes: Int32Array[] = [];
  readonly classIds = new Map<string, number>();

  constructor(src: string) { this.src = src; }

  fail(at: number, what: string): never {
    throw new HearthError('invalid_argument', `grammar: ${this.where(at)}: ${what}`);
  }

  /** "line L, column C" of an offset, both counted from 1. */
  where(at: number): string {
    let line = 1, col = 1;
    for (let k = 0; k < at && k < this.src.length; k++) {
      if (this.src.charCodeAt(k) === 10) { line++; col = 1; } else col++;
    }
    return `line ${line}, column ${col}`;
  }

  peek(k = 0): string { return this.src[this.i + k] ?? ''; }

  space(newlineOk: boolean): void {
    const s = this.src;
    while (this.i < s.length) {
      const c = s[this.i];
      if (c === ' ' || c === '\t') this.i++;
      else if (c === '#') { while (this.i < s.length && s[this.i] !== '\n' && s[this.i] !== '\r') this.i++; }
      else if (newlineOk && (c === '\n' || c === '\r')) this.i++;
      else break;
    }
  }

  static isWordChar(c: string): boolean {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '-';
  }

  name(): string {
    const start = this.i;
    while (Parser.isWordChar(this.peek())) this.i++;
    return this.src.slice(start, this.i);
  }

  ruleId(name: string, at: number): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.rules.length;
      this.ids.set(name, id);
      this.rules.push({ name, alts: undefined, at, synthetic: false });
    }
    return id;
  }

  helperRule(parent: string, at: number): number {
    const id = this.rules.length;
    this.rules.push({ name: `${parent}_${id}`, alts: undefined, at, synthetic: true });
    return id;
  }

  classId(ranges: number[], negate: boolean): number {
    const r = normalizeRanges(ranges, negate);
    const key = r.join(',');
    let id = this.classIds.get(key);
    if (id === undefined) {
      id = this.classes.length;
      this.classes.push(Int32Array.from(r));
      this.classIds.set(key, id);
    }
    return id;
  }

  /** One character of a literal or class: an escape or a code point. */
  char(): number {
    const at = this.i;
    const s = this.src;
    if (at >= s.length) this.fail(at, 'unexpected end of the grammar');
    if (s[at] !== '\\') {
      const cp = s.codePointAt(at)!;
      this.i += cp > 0xffff ? 2 : 1;
      return cp;
    }
    const e = s[at + 1] ?? '';
    const hex = (n: number): number => {
      const h = s.slice(at + 2, at + 2 + n);
      if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) this.fail(at, `\\${e} needs exactly ${n} hex digits`);
      this.i = at + 2 + n;
      const v = parseInt(h, 16);
      if (v > MAX_CODEPOINT) this.fail(at, `\\${e}${h} is beyond the last Unicode code point U+10FFFF`);
      return v;
    };
    switch (e) {
      case 'x': return hex(2);
      case 'u': return hex(4);
      case 'U': return hex(8);
      case 't': this.i += 2; return 9;
      case 'r': this.i += 2; return 13;
      case 'n': this.i += 2; return 10;
      case '\\': case '"': case '[': case ']': case '-': this.i += 2; return e.charCodeAt(0);
      default:
        this.fail(at, e ? `unknown escape \\${e} (known: \\n \\r \\t \\\\ \\" \\[ \\] \\- \\xHH \\uHHHH \\UHHHHHHHH)` : 'unexpected end of the grammar after \\');
    }
  }

  /** alternates: sequence ('|' sequence)*; returns the alternatives. */
  alternates(ruleName: string, nested: boolean): Sym[][] {
    const alts = [this.sequence(ruleName, nested)];
    while (this.peek() === '|') {
      this.i++;
      this.space(true);
      alts.push(this.sequence(ruleName, nested));
    }
    return alts;
  }

  sequence(ruleName: string, nested: boolean): Sym[] {
    const seq: Sym[] = [];
    let lastStart = -1; // where the item a repetition operator applies to begins
    const s = this.src;
    const repeat = (min: number, max: number, at: number): void => {
      if (lastStart < 0) this.fail(at, `${s[at]} must follow something to repeat (a literal, [class], rule name, (group) or .)`);
      if (max !== Infinity && max < min) this.fail(at, `{${min},${max}}: the maximum is below the minimum`);
      const item = seq.slice(lastStart);
      seq.length = lastStart;
      for (let k = 0; k < min; k++) seq.push(...item);
      if (max === Infinity) {
        // S' ::= S S' |
        const rec = this.helperRule(ruleName, at);
        this.rules[rec].alts = [[...item, -2 - rec], []];
        seq.push(-2 - rec);
      } else if (max > min) {
        // S'(1) ::= S | ;  S'(k) ::= S S'(k-1) |
        let prev = -1;
        for (let k = 0; k < max - min; k++) {
          const r = this.helperRule(ruleName, at);
          this.rules[r].alts = [prev < 0 ? [...item] : [...item, -2 - prev], []];
          prev = r;
        }
        seq.push(-2 - prev);
      }
      // A following operator applies to the repeated form, as in llama.cpp (x*? is (x*)?).
      if (seq.length === lastStart) lastStart = -1;
    };
    for (;;) {
      const at = this.i;
      const c = this.peek();
      if (c === '"') {
        this.i++;
        lastStart = seq.length;
        while (this.peek() !== '"') {
          if (this.i >= s.length) this.fail(at, 'unterminated literal: no closing "');
          const cp = this.char();
          seq.push(this.classId([cp, cp], false));
        }
        this.i++;
        if (seq.length === lastStart) lastStart = -1; // "" matches nothing: nothing to repeat
        this.space(nested);
      } else if (c === '[') {
        this.i++;
        const negate = this.peek() === '^';
        if (negate) this.i++;
        const ranges: number[] = [];
        while (this.peek() !== ']') {
          if (this.i >= s.length) this.fail(at, 'unterminated character class: no closing ]');
          const lo = this.char();
          let hi = lo;
          if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== '') {
            const rAt = this.i;
            this.i++;
            hi = this.char();
            if (hi < lo) this.fail(rAt, `character range ${fmtCp(lo)}-${fmtCp(hi)} is reversed`);
          }
          ranges.push(lo, hi);
        }
        this.i++;
        lastStart = seq.length;
        seq.push(this.classId(ranges, negate));
        this.space(nested);
      } else if (Parser.isWordChar(c)) {
        const name = this.name();
        const id = this.ruleId(name, at);
        if (!this.firstRef.has(id)) this.firstRef.set(id, at);
        lastStart = seq.length;
        seq.push(-2 - id);
        this.space(nested);
      } else if (c === '(') {
        this.i++;
        this.space(true);
        const sub = this.helperRule(ruleName, at);
        this.rules[sub].alts = this.alternates(ruleName, true);
        if (this.peek() !== ')') this.fail(this.i, `expected ) to close the group opened at ${this.where(at)}`);
        this.i++;
        lastStart = seq.length;
        seq.push(-2 - sub);
        this.space(nested);
      } else if (c === '.') {
        this.i++;
        lastStart = seq.length;
        seq.push(this.classId([0, MAX_CODEPOINT], false));
        this.space(nested);
      } else if (c === '*' || c === '+' || c === '?') {
        this.i++;
        this.space(nested);
        repeat(c === '+' ? 1 : 0, c === '?' ? 1 : Infinity, at);
      } else if (c === '{') {
        this.i++;
        this.space(nested);
        const min = this.int();
        this.space(nested);
        let max = min;
        if (this.peek() === ',') {
          this.i++;
          this.space(nested);
          max = /[0-9]/.test(this.peek()) ? this.int() : Infinity;
          this.space(nested);
        }
        if (this.peek() !== '}') this.fail(this.i, 'expected } to close the repetition {m}, {m,} or {m,n}');
        this.i++;
        this.space(nested);
        if (min > MAX_REPETITION || (max !== Infinity && max > MAX_REPETITION)) {
          this.fail(at, `repetition counts above ${MAX_REPETITION} are not supported; use * or + for unbounded repetition`);
        }
        repeat(min, max, at);
      } else if (c === '<' || c === '!') {
        this.fail(at, 'token references (<[id]>, <token>, !<...>) are not supported; match the token\'s text instead');
      } else {
        return seq;
      }
    }
  }

  int(): number {
    const start = this.i;
    while (/[0-9]/.test(this.peek())) this.i++;
    if (this.i === start) this.fail(start, 'expected a number in the repetition {m}, {m,} or {m,n}');
    return Number(this.src.slice(start, this.i));
  }

  parse(): void {
    const s = this.src;
    this.space(true);
    while (this.i < s.length) {
      const at = this.i;
      const name = this.name();
      if (!name && s[at] === '|') this.fail(at, 'an alternative | continues a rule only on the same line or inside ( ); move it up a line or wrap the alternatives in ( )');
      if (!name) this.fail(at, `expected a rule name (letters, digits and -), found ${JSON.stringify(s[at])}`);
      this.space(false);
      if (s.slice(this.i, this.i + 3) !== '::=') this.fail(this.i, `expected ::= after the rule name "${name}"`);
      this.i += 3;
      this.space(true);
      const id = this.ruleId(name, at);
      const r = this.rules[id];
      if (r.alts !== undefined) this.fail(at, `rule "${name}" is defined twice (first at ${this.where(r.at)})`);
      r.at = at;
      r.alts = this.alternates(name, false);
      const c = this.peek();
      if (c === '\r' || c === '\n') this.i++;
      else if (this.i < s.length) {
        if (c === ')') this.fail(this.i, 'unexpected ) with no group open');
        if (c === '"') this.fail(this.i, 'unterminated literal: no closing "');
        this.fail(this.i, `unexpected ${JSON.stringify(c)}: expected a literal, [class], rule name, (group), ., a repetition, | or the end of the line`);
      }
      this.space(true);
    }
  }
}

function fmtCp(cp: number): string {
  return cp >= 0x20 && cp < 0x7f ? String.fromCharCode(cp) : `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Sorts and merges [lo, hi] pairs; a negated class becomes the complement over all code points. */
function normalizeRanges(pairs: number[], negate: boolean): number[] {
  const rs: [number, number][] = [];
  for (let k = 0; k < pairs.length; k += 2) rs.push([pairs[k], pairs[k + 1]]);
  rs.sort((a, b) => a[0] - b[0]);
  const merged: number[] = [];
  for (const [lo, hi] of rs) {
    const n = merged.length;
    if (n && lo <= merged[n - 1] + 1) merged[n - 1] = Math.max(merged[n - 1], hi);
    else merged.push(lo, hi);
  }
  if (!negate) return merged;
  const out: number[] = [];
  let next = 0;
  for (let k = 0; k < merged.length; k += 2) {
    if (merged[k] > next) out.push(next, merged[k] - 1);
    next = merged[k + 1] + 1;
  }
  if (next <= MAX_CODEPOINT) out.push(next, MAX_CODEPOINT);
  return out;
}

/**
 * Rejects left recursion: a rule that can reach itself before reading a character would make the
 * matcher's stack expansion loop forever (llama.cpp's llama_grammar_detect_left_recursion).
 */
function checkLeftRecursion(p: Parser): void {
  const rules = p.rules;
  const n = rules.length;
  const nullable = new Array<boolean>(n).fill(false);
  // Fixpoint: a rule is nullable when some alternative is all nullable refs.
  for (let changed = true; changed;) {
    changed = false;
    for (let r = 0; r < n; r++) {
      if (nullable[r]) continue;
      if (rules[r].alts!.some((a) => a.every((s) => s <= -2 && nullable[-2 - s]))) { nullable[r] = true; changed = true; }
    }
  }
  // Left edges: r → t when t appears in an alternative of r after only nullable symbols.
  const edges: number[][] = rules.map((rule) => {
    const out: number[] = [];
    for (const a of rule.alts!) {
      for (const s of a) {
        if (s >= 0) break;
        out.push(-2 - s);
        if (!nullable[-2 - s]) break;
      }
    }
    return out;
  });
  const state = new Uint8Array(n); // 0 new, 1 on the path, 2 done
  const path: number[] = [];
  const visit = (r: number): void => {
    state[r] = 1;
    path.push(r);
    for (const t of edges[r]) {
      if (state[t] === 1) {
        const cycle = path.slice(path.indexOf(t)).concat(t);
        const named = cycle.map((k) => rules[k]).find((x) => !x.synthetic);
        const origin = named ?? rules[t];
        const chain = cycle.map((k) => rules[k].synthetic ? '(…)' : rules[k].name).join(' → ');
        if (!named) p.fail(origin.at, 'this repetition repeats something that can match the empty string, so it can loop forever without reading a character');
        p.fail(origin.at, `rule "${origin.name}" is left-recursive (${chain} without reading a character), which cannot terminate; rewrite it with repetition, e.g. expr ::= term ("+" term)*`);
      }
      if (state[t] === 0) visit(t);
    }
    path.pop();
    state[r] = 2;
  };
  for (let r = 0; r < n; r++) if (state[r] === 0) visit(r);
}

/** Parses GBNF text; throws HearthError('invalid_argument', 'grammar: line L, column C: …'). */
export function parseGbnf(text: string, root = 'root'): Grammar {
  const p = new Parser(text);
  p.parse();
  if (p.rules.every((r) => r.synthetic || r.alts === undefined) && p.rules.length === 0) {
    throw new HearthError('invalid_argument', `grammar: the grammar has no rules; it needs at least ${root} ::= …`);
  }
  const defined = [...p.ids.keys()].filter((k) => p.rules[p.ids.get(k)!].alts !== undefined);
  for (const [name, id] of p.ids) {
    if (p.rules[id].alts !== undefined) continue;
    const near = defined.map((d) => [d, editDistance(name, d)] as const).filter(([, d]) => d <= 2 && d < name.length / 2).sort((a, b) => a[1] - b[1])[0];
    p.fail(p.firstRef.get(id) ?? p.rules[id].at, `undefined rule "${name}"${near ? ` (did you mean "${near[0]}"?)` : ''}`);
  }
  const rootId = p.ids.get(root);
  if (rootId === undefined) {
    throw new HearthError('invalid_argument', `grammar: no rule named "${root}", the start rule; define ${root} ::= …${defined.length ? ` (defined: ${defined.slice(0, 8).join(', ')})` : ''}`);
  }
  checkLeftRecursion(p);
  const code: number[] = [];
  const alternatives = p.rules.map((r) => Int32Array.from(r.alts!.map((a) => {
    const start = code.length;
    code.push(...a, END);
    return start;
  })));
  return { names: p.rules.map((r) => r.name), alternatives, code: Int32Array.from(code), classes: p.classes, root: rootId };
}
