// A JSON-Schema `pattern` (an ECMAScript regular expression) as GBNF for the JSON string it constrains. The grammar
// describes the string as written in JSON: `"`, `\` and controls the pattern admits come out as their JSON escapes.
// Anchors follow regex meaning: a top-level branch without `^` may start anywhere, one without `$` may end anywhere.
import { HearthError } from '../../../util/errors.ts';
import { complement, jsonChar, jsonCharSet, literal, MAX_CP, normalise, repetition, type CharSet } from './json-schema-gbnf.ts';

type Node =
  | { kind: 'set'; set: CharSet }
  | { kind: 'seq'; items: Node[] }
  | { kind: 'alt'; branches: Node[] }
  | { kind: 'rep'; item: Node; min: number; max: number }
  | { kind: 'anchor'; at: '^' | '$' };

const DIGIT: CharSet = [[0x30, 0x39]];
const WORD: CharSet = normalise([[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]]);
// ECMAScript's \s: white space and line terminators.
const SPACE: CharSet = normalise([[0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a],
  [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff]]);
const LINE_ENDS: CharSet = normalise([[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]]);
const CONTROL_ESCAPES: Record<string, number> = { t: 0x09, n: 0x0a, r: 0x0d, f: 0x0c, v: 0x0b, '0': 0 };

class PatternParser {
  private i = 0;
  private readonly cps: number[];
  private readonly pattern: string;
  private readonly where: string;
  private readonly dotall: boolean;

  constructor(pattern: string, where: string, dotall: boolean) {
    this.pattern = pattern;
    this.where = where;
    this.dotall = dotall;
    this.cps = [...pattern].map((c) => c.codePointAt(0)!);
  }

  private unsupported(what: string): never {
    throw new HearthError('unsupported_field', `json schema: pattern at ${this.where} is not supported: ${what} in ${JSON.stringify(this.pattern)} (supported: literals, classes, groups, alternation, ? * + {m,n}, \\d \\w \\s, ., ^ and $ at the ends)`);
  }

  private invalid(what: string): never {
    throw new HearthError('invalid_argument', `json schema: pattern at ${this.where} is not a valid regular expression: ${what} in ${JSON.stringify(this.pattern)}`);
  }

  private peek(): string | undefined {
    const cp = this.cps[this.i];
    return cp === undefined ? undefined : String.fromCodePoint(cp);
  }

  parse(): Node {
    const node = this.alternation(0);
    if (this.i < this.cps.length) this.invalid(`unbalanced ')' at ${this.i}`);
    return node;
  }

  private alternation(depth: number): Node {
    if (depth > 100) this.unsupported('groups nested deeper than 100');
    const branches = [this.sequence(depth)];
    while (this.peek() === '|') {
      this.i++;
      branches.push(this.sequence(depth));
    }
    return branches.length === 1 ? branches[0]! : { kind: 'alt', branches };
  }

  private sequence(depth: number): Node {
    const items: Node[] = [];
    for (let c = this.peek(); c !== undefined && c !== '|' && c !== ')'; c = this.peek()) {
      const atom = this.atom(depth);
      items.push(atom.kind === 'anchor' ? atom : this.quantified(atom));
    }
    return { kind: 'seq', items };
  }

  private quantified(item: Node): Node {
    let node = item;
    for (;;) {
      const c = this.peek();
      let min: number, max: number;
      if (c === '*') [min, max] = [0, Infinity];
      else if (c === '+') [min, max] = [1, Infinity];
      else if (c === '?') [min, max] = [0, 1];
      else if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(String.fromCodePoint(...this.cps.slice(this.i, this.i + 24)));
        if (m === null) return node; // a '{' that starts no quantifier is a literal, as ECMAScript reads it
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        if (max < min) this.invalid(`{${min},${max}} has max below min`);
        this.i += m[0].length - 1;
      } else return node;
      this.i++;
      if (this.peek() === '?') this.i++; // lazy: the same strings
      else if (this.peek() === '+') this.unsupported('a possessive quantifier');
      if (node.kind === 'rep') this.unsupported('a quantifier on a quantifier');
      node = { kind: 'rep', item: node, min, max };
    }
  }

  private atom(depth: number): Node {
    const c = this.peek()!;
    this.i++;
    switch (c) {
      case '^':
      case '$':
        return { kind: 'anchor', at: c };
      case '.':
        return { kind: 'set', set: this.dotall ? [[0, MAX_CP]] : complement(LINE_ENDS) };
      case '(': {
        if (this.peek() === '?') {
          const rest = String.fromCodePoint(...this.cps.slice(this.i, this.i + 3));
          if (rest.startsWith('?:')) this.i += 2;
          else if (/^\?<[A-Za-z_$]/.test(rest)) {
            while (this.peek() !== undefined && this.peek() !== '>') this.i++;
            this.i++;
          } else this.unsupported(`the group (${rest}… (lookaround or flags)`);
        }
        const inner = this.alternation(depth + 1);
        if (this.peek() !== ')') this.invalid('an unclosed (');
        this.i++;
        return inner;
      }
      case ')':
        this.invalid('an unbalanced )');
      case '[':
        return { kind: 'set', set: this.charClass() };
      case '*':
      case '+':
      case '?':
        this.invalid(`nothing to repeat before ${c}`);
      case '\\':
        return this.escape(false);
      default:
        return { kind: 'set', set: [[c.codePointAt(0)!, c.codePointAt(0)!]] };
    }
  }

  /** After a backslash; returns a set (or an anchor-free error). `inClass`: \b is backspace there. */
  private escape(inClass: boolean): Node & { kind: 'set' } {
    const c = this.peek();
    if (c === undefined) this.invalid('a trailing backslash');
    this.i++;
    const one = (cp: number) => ({ kind: 'set' as const, set: [[cp, cp]] as CharSet });
    switch (c) {
      case 'd': return { kind: 'set', set: DIGIT };
      case 'D': return { kind: 'set', set: complement(DIGIT) };
      case 'w': return { kind: 'set', set: WORD };
      case 'W': return { kind: 'set', set: complement(WORD) };
      case 's': return { kind: 'set', set: SPACE };
      case 'S': return { kind: 'set', set: complement(SPACE) };
      case 'b':
        if (inClass) return one(0x08);
        this.unsupported('the word boundary \\b');
      case 'x': case 'u': {
        const n = c === 'x' ? 2 : 4;
        const hex = String.fromCodePoint(...this.cps.slice(this.i, this.i + n));
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) this.invalid(`\\${c} needs ${n} hex digits`);
        this.i += n;
        return one(parseInt(hex, 16));
      }
      default:
        if (c in CONTROL_ESCAPES) {
          if (c === '0' && /[0-9]/.test(this.peek() ?? '')) this.unsupported('an octal escape');
          return one(CONTROL_ESCAPES[c]!);
        }
        if (/[1-9]/.test(c)) this.unsupported(`the back reference \\${c}`);
        if (/[A-Za-z]/.test(c)) this.unsupported(`the escape \\${c}`);
        return one(c.codePointAt(0)!);
    }
  }

  private charClass(): CharSet {
    let negate = false;
    if (this.peek() === '^') {
      negate = true;
      this.i++;
    }
    const ranges: Array<readonly [number, number]> = [];
    // As in ECMAScript, a ']' right after '[' closes the class: [] matches nothing and [^] anything.
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.invalid('an unterminated [');
      if (c === ']') break;
      const lo = this.classAtom();
      if (this.peek() === '-' && this.cps[this.i + 1] !== undefined && String.fromCodePoint(this.cps[this.i + 1]!) !== ']') {
        this.i++;
        const hi = this.classAtom();
        if (lo.length !== 1 || hi.length !== 1 || lo[0]![0] !== lo[0]![1] || hi[0]![0] !== hi[0]![1]) this.unsupported('a range with a class (\\d, \\w, \\s) at one end');
        if (hi[0]![0] < lo[0]![0]) this.invalid('a range out of order');
        ranges.push([lo[0]![0], hi[0]![0]]);
      } else ranges.push(...lo);
    }
    this.i++;
    const set = normalise(ranges);
    return negate ? complement(set) : set;
  }

  private classAtom(): CharSet {
    const c = this.peek()!;
    this.i++;
    if (c === '\\') return this.escape(true).set;
    if (c === '[' && this.peek() === ':') this.unsupported('a POSIX class [:…:]');
    return [[c.codePointAt(0)!, c.codePointAt(0)!]];
  }
}

/** GBNF for what the pattern matches, inside the quotes of a JSON string. `anyChar` is the rule of one JSON string character. */
export function patternToGbnf(pattern: string, where: string, dotall: boolean, anyChar: () => string): string {
  const tree = new PatternParser(pattern, where, dotall).parse();
  const top = tree.kind === 'alt' ? tree.branches : [tree];
  const branches = top.map((b) => {
    const items = b.kind === 'seq' ? [...b.items] : [b];
    const start = items[0]?.kind === 'anchor' && items[0].at === '^';
    if (start) items.shift();
    const last = items[items.length - 1];
    const end = last?.kind === 'anchor' && last.at === '$';
    if (end) items.pop();
    const body = emit({ kind: 'seq', items }, where, pattern);
    return [start ? '' : `${anyChar()}*`, body, end ? '' : `${anyChar()}*`].filter((s) => s !== '').join(' ') || '""';
  });
  return branches.length === 1 ? branches[0]! : `(${branches.join(' | ')})`;
}

function emit(node: Node, where: string, pattern: string): string {
  switch (node.kind) {
    case 'anchor':
      throw new HearthError('unsupported_field', `json schema: pattern at ${where} is not supported: ${node.at} inside the pattern ${JSON.stringify(pattern)} (anchors only at the start and end)`);
    case 'set': {
      const cp = single(node.set);
      if (cp !== undefined) return literal(jsonChar(cp));
      if (node.set.length === 0 || node.set.every(([a, b]) => a >= 0xd800 && b <= 0xdfff)) {
        throw new HearthError('unsupported_field', `json schema: pattern at ${where} is not supported: a character class no character matches in ${JSON.stringify(pattern)}`);
      }
      return jsonCharSet(node.set);
    }
    case 'alt':
      return `(${node.branches.map((b) => emit(b, where, pattern) || '""').join(' | ')})`;
    case 'rep': {
      // A repeated part that can match the empty string ((a*b*)+) would loop without reading (the grammar parser,
      // like llama.cpp's, refuses it): repeating its non-empty strings up to max times matches the same strings.
      if (nullable(node.item)) {
        const part = nonEmpty(node.item);
        return part ? emit({ kind: 'rep', item: part, min: 0, max: node.max }, where, pattern) : '';
      }
      const inner = emit(node.item, where, pattern) || '""';
      const item = /^("(?:[^"\\]|\\.)*"|\[(?:[^\]\\]|\\.)*\]|[a-zA-Z0-9-]+)$/.test(inner) ? inner : `(${inner})`;
      return repetition(item, node.min, node.max);
    }
    case 'seq': {
      // Runs of single characters become one literal.
      const parts: string[] = [];
      let run = '';
      for (const item of node.items) {
        const cp = item.kind === 'set' ? single(item.set) : undefined;
        if (cp !== undefined) {
          run += jsonChar(cp);
          continue;
        }
        if (run !== '') parts.push(literal(run));
        run = '';
        parts.push(emit(item, where, pattern));
      }
      if (run !== '') parts.push(literal(run));
      return parts.filter((p) => p !== '').join(' ');
    }
  }
}

/** True when the node matches the empty string. */
function nullable(node: Node): boolean {
  switch (node.kind) {
    case 'set': return false;
    case 'anchor': return true;
    case 'seq': return node.items.every(nullable);
    case 'alt': return node.branches.some(nullable);
    case 'rep': return node.min === 0 || nullable(node.item);
  }
}

/** The node's strings without the empty one; null when it matches only the empty string. */
function nonEmpty(node: Node): Node | null {
  if (!nullable(node)) return node;
  switch (node.kind) {
    case 'set': return node;
    case 'anchor': return null;
    case 'alt': {
      const branches = node.branches.map(nonEmpty).filter((b): b is Node => b !== null);
      return branches.length === 0 ? null : branches.length === 1 ? branches[0]! : { kind: 'alt', branches };
    }
    case 'rep': {
      const item = nullable(node.item) ? nonEmpty(node.item) : node.item;
      if (item === null || node.max === 0) return null;
      return { kind: 'rep', item, min: 1, max: node.max };
    }
    case 'seq': {
      // every item can be empty: a non-empty first item then the rest as they are, or an empty first item and a
      // non-empty rest
      const [first, ...rest] = node.items;
      if (first === undefined) return null;
      const head = nonEmpty(first);
      const tail = nonEmpty({ kind: 'seq', items: rest });
      const branches: Node[] = [];
      if (head) branches.push({ kind: 'seq', items: [head, ...rest] });
      if (tail) branches.push(tail);
      return branches.length === 0 ? null : branches.length === 1 ? branches[0]! : { kind: 'alt', branches };
    }
  }
}

function single(set: CharSet): number | undefined {
  return set.length === 1 && set[0]![0] === set[0]![1] ? set[0]![0] : undefined;
}

