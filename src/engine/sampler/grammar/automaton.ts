// The grammar matcher as a lazily built byte automaton. A matcher state is llama.cpp's set of pushdown
// stacks (positions in Grammar.code, each stack's top a char class) plus a partial UTF-8 sequence. Stacks
// are hash-consed linked lists and stack sets are interned, so a state is one small integer and its
// transition on a byte is computed once and then read from a 256-entry table: walking a vocabulary trie
// costs one array read per trie node for states seen before.
import { END, type Grammar } from './parse.ts';

/** Transition table entry: not computed yet. */
export const UNKNOWN = -2;
/** Transition table entry / state id: no stack accepts the byte. */
export const DEAD = -1;

/** Past this many transition tables (1 KiB each) the tables are dropped and rebuilt on demand. */
const MAX_TABLES = 32768;

export class Automaton {
  readonly grammar: Grammar;
  private readonly code: Int32Array;
  private readonly classes: readonly Int32Array[];

  // Stacks: id 0 is the empty stack; stack k is (parent, top position).
  private readonly stackParent: number[] = [0];
  private readonly stackTop: number[] = [-1];
  private readonly stackIds = new Map<number, number>();
  private readonly expanded: (Int32Array | undefined)[] = [];

  // Stack sets, sorted ascending.
  private readonly sets: Int32Array[] = [];
  private readonly setIds = new Map<string, number>();
  /** (set, subset of its stacks that accept a character) → the next set. */
  private readonly charMemo = new Map<number, number>();

  // States: (set, partial UTF-8 value, bytes still to come).
  private readonly stateSet: number[] = [];
  private readonly stateVal: number[] = [];
  private readonly stateRem: number[] = [];
  private readonly stateIds = new Map<number, number>();
  /** Per state, the next state for each byte (UNKNOWN until computed). Cleared in place when too many. */
  readonly tables: (Int32Array | undefined)[] = [];
  private nTables = 0;

  /** The state before any text. */
  readonly initial: number;

  constructor(grammar: Grammar) {
    this.grammar = grammar;
    this.code = grammar.code;
    this.classes = grammar.classes;
    const stacks = new Set<number>();
    for (const a of grammar.alternatives[grammar.root]) {
      for (const s of this.expand(this.code[a] === END ? 0 : this.push(0, a))) stacks.add(s);
    }
    this.initial = this.state(this.internSet(stacks), 0, 0);
  }

  /** Number of states made so far. */
  get states(): number { return this.stateSet.length; }

  /** True when the text so far is a complete match: the empty stack is in the set, no partial character. */
  isComplete(state: number): boolean {
    return this.stateRem[state] === 0 && this.sets[this.stateSet[state]][0] === 0;
  }

  /** True when no byte can follow: only the empty stack is left. */
  isDone(state: number): boolean {
    const set = this.sets[this.stateSet[state]];
    return this.stateRem[state] === 0 && set.length === 1 && set[0] === 0;
  }

  /** The state after one byte, or DEAD. */
  next(state: number, byte: number): number {
    const t = this.tables[state];
    if (t !== undefined) {
      const v = t[byte];
      if (v !== UNKNOWN) return v;
    }
    return this.computeNext(state, byte);
  }

  computeNext(state: number, b: number): number {
    let t = this.tables[state];
    if (t === undefined) {
      if (this.nTables >= MAX_TABLES) { this.tables.length = 0; this.nTables = 0; }
      t = new Int32Array(256).fill(UNKNOWN);
      this.tables[state] = t;
      this.nTables++;
    }
    const r = this.step(state, b);
    t[b] = r;
    return r;
  }

  private step(state: number, b: number): number {
    const set = this.stateSet[state];
    const rem = this.stateRem[state];
    let val: number, left: number;
    if (rem === 0) {
      if (b < 0x80) return this.afterChar(set, b);
      if (b >= 0xc0 && b < 0xe0) { val = b & 0x1f; left = 1; }
      else if (b >= 0xe0 && b < 0xf0) { val = b & 0x0f; left = 2; }
      else if (b >= 0xf0 && b < 0xf8) { val = b & 0x07; left = 3; }
      else return DEAD; // a continuation byte without a lead, or no UTF-8 lead at all
    } else {
      if ((b & 0xc0) !== 0x80) return DEAD;
      val = (this.stateVal[state] << 6) | (b & 0x3f);
      left = rem - 1;
      if (left === 0) return this.afterChar(set, val);
    }
    return this.partialCanMatch(set, val, left) ? this.state(set, val, left) : DEAD;
  }

  private afterChar(set: number, cp: number): number {
    const next = this.acceptChar(set, cp);
    return next < 0 ? DEAD : this.state(next, 0, 0);
  }

  /**
   * The stack set after one code point, or -1 when no stack accepts it. The result depends only on
   * which of the set's stacks accept the code point, so it is memoised on that subset: the thousands of
   * characters a vocabulary holds mostly share a few subsets.
   */
  private acceptChar(setId: number, cp: number): number {
    const set = this.sets[setId];
    if (set.length > 31) return this.acceptMatching(setId, cp, -1);
    let m = 0;
    for (let k = 0; k < set.length; k++) {
      const s = set[k];
      if (s !== 0 && classHas(this.classes[this.code[this.stackTop[s]]], cp)) m |= 1 << k;
    }
    if (m === 0) return -1;
    const key = setId * 2 ** 31 + m;
    let r = this.charMemo.get(key);
    if (r === undefined) { r = this.acceptMatching(setId, cp, m); this.charMemo.set(key, r); }
    return r;
  }

  /** acceptChar without the memo; `matched` (bit k: stack k accepts) or -1 to test each class. */
  private acceptMatching(setId: number, cp: number, matched: number): number {
    const set = this.sets[setId];
    const code = this.code;
    let out: Set<number> | undefined;
    for (let k = 0; k < set.length; k++) {
      const s = set[k];
      if (s === 0) continue;
      const pos = this.stackTop[s];
      if (matched >= 0 ? !((matched >>> k) & 1) : !classHas(this.classes[code[pos]], cp)) continue;
      const parent = this.stackParent[s];
      const after = code[pos + 1] === END ? parent : this.push(parent, pos + 1);
      out ??= new Set();
      for (const e of this.expand(after)) out.add(e);
    }
    return out ? this.internSet(out) : -1;
  }

  /** Whether some completion of a partial UTF-8 sequence could match a char class on top of a stack. */
  private partialCanMatch(setId: number, val: number, left: number): boolean {
    if (left === 1 && val < 2) return false; // an overlong two-byte form of a 7-bit char
    let lo = val * 2 ** (6 * left);
    const hi = lo + 2 ** (6 * left) - 1;
    if (lo === 0) lo = left === 2 ? 0x800 : 0x10000; // the overlong forms are not UTF-8
    const set = this.sets[setId];
    for (let k = 0; k < set.length; k++) {
      const s = set[k];
      if (s === 0) continue;
      const r = this.classes[this.code[this.stackTop[s]]];
      for (let j = 0; j < r.length; j += 2) if (r[j] <= hi && r[j + 1] >= lo) return true;
    }
    return false;
  }

  private push(parent: number, pos: number): number {
    const key = parent * this.code.length + pos;
    let id = this.stackIds.get(key);
    if (id === undefined) {
      id = this.stackParent.length;
      this.stackParent.push(parent);
      this.stackTop.push(pos);
      this.stackIds.set(key, id);
    }
    return id;
  }

  /**
   * The stacks a stack stands for once every rule reference on top is replaced by the rule's
   * alternatives (llama_grammar_advance_stack): each has a char class on top, or is empty.
   */
  private expand(s: number): Int32Array {
    const memo = this.expanded[s];
    if (memo !== undefined) return memo;
    let out: Int32Array;
    const pos = this.stackTop[s];
    if (s === 0 || this.code[pos] >= 0) {
      out = Int32Array.of(s);
    } else {
      const rule = -2 - this.code[pos];
      const parent = this.stackParent[s];
      const base = this.code[pos + 1] === END ? parent : this.push(parent, pos + 1);
      const acc = new Set<number>();
      for (const a of this.grammar.alternatives[rule]) {
        for (const e of this.expand(this.code[a] === END ? base : this.push(base, a))) acc.add(e);
      }
      out = Int32Array.from(acc);
    }
    this.expanded[s] = out;
    return out;
  }

  private internSet(stacks: Set<number>): number {
    const arr = Int32Array.from(stacks).sort();
    const key = arr.join(',');
    let id = this.setIds.get(key);
    if (id === undefined) {
      id = this.sets.length;
      this.sets.push(arr);
      this.setIds.set(key, id);
    }
    return id;
  }

  private state(set: number, val: number, rem: number): number {
    const key = (set * 4 + rem) * 0x200000 + val;
    let id = this.stateIds.get(key);
    if (id === undefined) {
      id = this.stateSet.length;
      this.stateSet.push(set);
      this.stateVal.push(val);
      this.stateRem.push(rem);
      this.stateIds.set(key, id);
    }
    return id;
  }
}

/** Whether a code point lies in a class of sorted inclusive ranges. */
export function classHas(r: Int32Array, cp: number): boolean {
  const n = r.length;
  if (n <= 8) {
    for (let j = 0; j < n; j += 2) {
      if (cp < r[j]) return false;
      if (cp <= r[j + 1]) return true;
    }
    return false;
  }
  let lo = 0, hi = (n >> 1) - 1;
  while (lo <= hi) {
    const m = (lo + hi) >> 1;
    if (cp < r[2 * m]) hi = m - 1;
    else if (cp > r[2 * m + 1]) lo = m + 1;
    else return true;
  }
  return false;
}

const automata = new WeakMap<Grammar, Automaton>();

/**
 * Past this many states a grammar kept for many requests starts a fresh automaton for new sequences
 * (those under way keep theirs), so memory stays bounded without invalidating any state id.
 */
const MAX_STATES = 1 << 18;

/** One automaton per grammar object, shared by every sequence that samples under it. */
export function automatonFor(grammar: Grammar): Automaton {
  let a = automata.get(grammar);
  if (!a || a.states > MAX_STATES) { a = new Automaton(grammar); automata.set(grammar, a); }
  return a;
}
