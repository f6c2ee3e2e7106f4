// JSON read with the places of its values, from text that may stop part-way through (a call still being
// generated). Tool-call parsing uses it twice: on a finished call, to take the arguments object as the model
// wrote it, and on a call in progress, to stream the arguments written so far.

/** A value read from `text`: where it starts, and where it ends (-1: the text stops inside it). */
export type JsonNode =
  | { kind: 'object'; start: number; end: number; members: [key: string, value: JsonNode][] }
  | { kind: 'array'; start: number; end: number; items: JsonNode[] }
  | { kind: 'string'; start: number; end: number; value: string }
  | { kind: 'scalar'; start: number; end: number };

const SPACE = /[ \t\n\r]/;
const SCALAR = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null)/;
const PARTIAL_NUMBER = /^-?(?:0|[1-9][0-9]*)?(?:\.[0-9]*)?(?:[eE][-+]?[0-9]*)?$/;
const LITERALS = ['true', 'false', 'null'];

class Reader {
  readonly s: string;
  i: number;
  constructor(s: string, from: number) {
    this.s = s;
    this.i = from;
  }

  space(): void {
    while (this.i < this.s.length && SPACE.test(this.s[this.i]!)) this.i++;
  }

  get eof(): boolean {
    return this.i >= this.s.length;
  }

  /** The value at i; undefined when the text is not JSON there (so the whole read fails). */
  value(): JsonNode | undefined {
    this.space();
    const start = this.i;
    const c = this.s[this.i];
    if (c === '{') return this.object(start);
    if (c === '[') return this.array(start);
    if (c === '"') return this.string(start);
    const rest = this.s.slice(start, start + 400);
    if (rest === '') return undefined;
    // What runs to the end of the text: a number may still go on, and a literal may be cut short.
    if (start + rest.length === this.s.length && (PARTIAL_NUMBER.test(rest) || LITERALS.some((w) => w.startsWith(rest)))) {
      this.i = this.s.length;
      return { kind: 'scalar', start, end: LITERALS.includes(rest) ? this.i : -1 };
    }
    const m = SCALAR.exec(rest);
    if (!m) return undefined;
    this.i += m[0].length;
    return { kind: 'scalar', start, end: this.i };
  }

  private string(start: number): JsonNode | undefined {
    let value = '';
    for (let i = start + 1; i < this.s.length; i++) {
      const c = this.s[i]!;
      if (c === '"') {
        this.i = i + 1;
        return { kind: 'string', start, end: this.i, value };
      }
      if (c === '\\') {
        const e = this.s[i + 1];
        if (e === undefined) break;
        if (e === 'u') {
          const hex = this.s.slice(i + 2, i + 6);
          if (hex.length < 4) break;
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) return undefined;
          value += String.fromCharCode(parseInt(hex, 16));
          i += 5;
        } else {
          const out = ({ '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' } as Record<string, string>)[e];
          if (out === undefined) return undefined;
          value += out;
          i++;
        }
      } else if (c < ' ') return undefined;
      else value += c;
    }
    this.i = this.s.length;
    return { kind: 'string', start, end: -1, value };
  }

  private object(start: number): JsonNode | undefined {
    const node: JsonNode = { kind: 'object', start, end: -1, members: [] };
    this.i++;
    this.space();
    if (this.s[this.i] === '}') {
      node.end = ++this.i;
      return node;
    }
    while (!this.eof) {
      this.space();
      if (this.eof) break;
      if (this.s[this.i] !== '"') return undefined;
      const key = this.string(this.i);
      if (!key) return undefined;
      if (key.end < 0) break;
      this.space();
      if (this.eof) break;
      if (this.s[this.i] !== ':') return undefined;
      this.i++;
      this.space();
      if (this.eof) break;
      const v = this.value();
      if (!v) return undefined;
      node.members.push([(key as { value: string }).value, v]);
      if (v.end < 0) break;
      const after = this.separator('}');
      if (after === 'bad') return undefined;
      if (after === 'close') node.end = this.i;
      if (after !== 'next') break;
    }
    return node;
  }

  /** After a member or item: a comma (next), the closing bracket (close, i after it), the end of the text, or neither (bad). */
  private separator(close: string): 'next' | 'close' | 'eof' | 'bad' {
    this.space();
    if (this.eof) return 'eof';
    const c = this.s[this.i++];
    return c === close ? 'close' : c === ',' ? 'next' : 'bad';
  }

  private array(start: number): JsonNode | undefined {
    const node: JsonNode = { kind: 'array', start, end: -1, items: [] };
    this.i++;
    this.space();
    if (this.s[this.i] === ']') {
      node.end = ++this.i;
      return node;
    }
    while (!this.eof) {
      const v = this.value();
      if (!v) return this.eof ? node : undefined;
      node.items.push(v);
      if (v.end < 0) break;
      const after = this.separator(']');
      if (after === 'bad') return undefined;
      if (after === 'close') node.end = this.i;
      if (after !== 'next') break;
    }
    return node;
  }
}

/**
 * The JSON value that starts at `from` (after whitespace) in `text`, read as far as the text goes: nodes the
 * text stops inside have end -1. Undefined when the text is not the start of a JSON value. A complete value
 * is as strict as JSON.parse, except that it does not look at what follows it.
 */
export function readJson(text: string, from = 0): JsonNode | undefined {
  const r = new Reader(text, from);
  r.space();
  if (r.eof) return undefined;
  return r.value();
}

/** The member `key` of an object node (the last one, as JSON.parse keeps). */
export function member(node: JsonNode | undefined, key: string): JsonNode | undefined {
  if (node?.kind !== 'object') return undefined;
  for (let i = node.members.length - 1; i >= 0; i--) if (node.members[i]![0] === key) return node.members[i]![1];
  return undefined;
}

/**
 * JSON text without the whitespace between its tokens: the value as written, compact. It works on a prefix
 * too, and the compact form of a prefix is a prefix of the compact form of the whole, so a value can be
 * streamed compact as it is written.
 */
export function compactJson(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') {
        if (i + 1 < text.length) out += text[++i];
      } else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (!SPACE.test(c)) out += c;
  }
  return out;
}
