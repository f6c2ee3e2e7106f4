// The slow twin of the automaton: llama.cpp's matcher as written in llama-grammar.cpp — explicit stacks
// copied on every step, UTF-8 decoded code point by code point — with no interning or caching. Tests
// check the fast trie walk against it.
import { END, type Grammar } from './parse.ts';
import { classHas } from './automaton.ts';

type Stack = readonly number[]; // positions in Grammar.code, top last

export class ReferenceMatcher {
  private readonly g: Grammar;
  private stacks: Stack[];
  private val = 0;
  private rem = 0;
  private dead = false;

  constructor(g: Grammar) {
    this.g = g;
    this.stacks = [];
    for (const a of g.alternatives[g.root]) this.advance(g.code[a] === END ? [] : [a], this.stacks);
  }

  clone(): ReferenceMatcher {
    const c = Object.create(ReferenceMatcher.prototype) as ReferenceMatcher;
    Object.assign(c, this);
    return c;
  }

  get complete(): boolean { return !this.dead && this.rem === 0 && this.stacks.some((s) => s.length === 0); }
  get failed(): boolean { return this.dead; }

  private advance(stack: Stack, out: Stack[]): void {
    const { code } = this.g;
    if (stack.length === 0 || code[stack[stack.length - 1]] >= 0) {
      if (!out.some((s) => s.length === stack.length && s.every((x, k) => x === stack[k]))) out.push(stack);
      return;
    }
    const pos = stack[stack.length - 1];
    const rule = -2 - code[pos];
    for (const a of this.g.alternatives[rule]) {
      const next = stack.slice(0, -1);
      if (code[pos + 1] !== END) next.push(pos + 1);
      if (code[a] !== END) next.push(a);
      this.advance(next, out);
    }
  }

  /** Feeds one byte; returns false (and stays failed) once the text cannot match. */
  pushByte(b: number): boolean {
    if (this.dead) return false;
    let cp = -1;
    if (this.rem === 0) {
      if (b < 0x80) cp = b;
      else if (b >= 0xc0 && b < 0xe0) { this.val = b & 0x1f; this.rem = 1; }
      else if (b >= 0xe0 && b < 0xf0) { this.val = b & 0x0f; this.rem = 2; }
      else if (b >= 0xf0 && b < 0xf8) { this.val = b & 0x07; this.rem = 3; }
      else return this.fail();
    } else {
      if ((b & 0xc0) !== 0x80) return this.fail();
      this.val = this.val * 64 + (b & 0x3f);
      if (--this.rem === 0) cp = this.val;
    }
    const { code, classes } = this.g;
    if (cp < 0) {
      // Partial character: some stack's class must hold a code point it can complete to.
      if (this.rem === 1 && this.val < 2) return this.fail();
      let lo = this.val * 2 ** (6 * this.rem);
      const hi = lo + 2 ** (6 * this.rem) - 1;
      if (lo === 0) lo = this.rem === 2 ? 0x800 : 0x10000;
      const ok = this.stacks.some((s) => {
        if (s.length === 0) return false;
        const r = classes[code[s[s.length - 1]]];
        for (let j = 0; j < r.length; j += 2) if (r[j] <= hi && r[j + 1] >= lo) return true;
        return false;
      });
      return ok || this.fail();
    }
    const next: Stack[] = [];
    for (const s of this.stacks) {
      if (s.length === 0) continue;
      const pos = s[s.length - 1];
      if (!classHas(classes[code[pos]], cp)) continue;
      const after = s.slice(0, -1);
      if (code[pos + 1] !== END) after.push(pos + 1);
      this.advance(after, next);
    }
    this.stacks = next;
    return next.length > 0 || this.fail();
  }

  pushBytes(bytes: Uint8Array): boolean {
    for (const b of bytes) if (!this.pushByte(b)) return false;
    return true;
  }

  private fail(): false {
    this.dead = true;
    return false;
  }
}
