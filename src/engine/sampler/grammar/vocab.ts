// The vocabulary as a grammar sees it: the bytes every token adds to the text, and a byte trie of those
// pieces so one walk can test all tokens against a matcher state, dropping a whole subtree at the first
// byte the grammar rejects (llama_grammar_reject_candidates over a trie instead of a list).
import type { Tokenizer } from '../../../tokenizer/types.ts';

/** The byte string of every token id as it appears in generated text (null: never allowed), and the ids that end generation. */
export interface GrammarVocab {
  pieces: (Uint8Array | null)[];
  eog: Set<number>;
}

const vocabs = new WeakMap<Tokenizer, GrammarVocab>();

/** The grammar's view of a tokenizer, built once per tokenizer. Control/special tokens get null. */
export function grammarVocab(tokenizer: Tokenizer): GrammarVocab {
  let v = vocabs.get(tokenizer);
  if (v) return v;
  const n = tokenizer.vocabSize;
  const pieces: (Uint8Array | null)[] = new Array(n);
  const eog = new Set<number>();
  for (let id = 0; id < n; id++) {
    if (tokenizer.isEog(id)) eog.add(id);
    pieces[id] = tokenizer.isControl(id) ? null : tokenizer.tokenBytes(id);
  }
  v = { pieces, eog };
  vocabs.set(tokenizer, v);
  return v;
}

/** The token pieces in a preorder byte trie: node i has byte[i], depth[i] (1 for a first byte), subtree end[i] (exclusive), and the tokens ending at it. */
export interface VocabTrie {
  readonly size: number; // nodes
  readonly byte: Uint8Array;
  readonly depth: Uint16Array;
  readonly end: Int32Array;
  /** tokens[tokLo[i] .. tokHi[i]) end exactly at node i. */
  readonly tokLo: Int32Array;
  readonly tokHi: Int32Array;
  readonly tokens: Int32Array;
  readonly maxDepth: number;
  /** Number of token ids (bitset width). */
  readonly nVocab: number;
}

const tries = new WeakMap<GrammarVocab, VocabTrie>();

export function vocabTrie(v: GrammarVocab): VocabTrie {
  let t = tries.get(v);
  if (!t) { t = buildTrie(v); tries.set(v, t); }
  return t;
}

function buildTrie(v: GrammarVocab): VocabTrie {
  const ids: number[] = [];
  let totalBytes = 0;
  for (let id = 0; id < v.pieces.length; id++) {
    const p = v.pieces[id];
    // Empty pieces add nothing and EOG is decided by completeness; neither belongs in the trie.
    if (p && p.length && !v.eog.has(id)) { ids.push(id); totalBytes += p.length; }
  }
  const pieces = v.pieces as Uint8Array[];
  ids.sort((a, b) => compareBytes(pieces[a], pieces[b]) || a - b);
  // Upper bound on nodes: every byte of every piece.
  const byte = new Uint8Array(totalBytes);
  const depth = new Uint16Array(totalBytes);
  const tokLo = new Int32Array(totalBytes);
  const tokHi = new Int32Array(totalBytes);
  const tokens = new Int32Array(ids.length);
  let n = 0, maxDepth = 0;
  let prev: Uint8Array = new Uint8Array(0);
  let last = -1;
  for (let k = 0; k < ids.length; k++) {
    const p = pieces[ids[k]];
    let l = 0;
    const m = Math.min(p.length, prev.length);
    while (l < m && p[l] === prev[l]) l++;
    if (l === p.length && l === prev.length) {
      tokHi[last]++; // same bytes as the previous token: same node
    } else {
      for (let d = l; d < p.length; d++) { byte[n] = p[d]; depth[n] = d + 1; n++; }
      last = n - 1;
      tokLo[last] = k;
      tokHi[last] = k + 1;
      if (p.length > maxDepth) maxDepth = p.length;
    }
    tokens[k] = ids[k];
    prev = p;
  }
  const end = new Int32Array(n);
  const open: number[] = [];
  for (let i = 0; i < n; i++) {
    while (open.length && depth[open[open.length - 1]] >= depth[i]) end[open.pop()!] = i;
    open.push(i);
  }
  while (open.length) end[open.pop()!] = n;
  return {
    size: n, byte: byte.slice(0, n), depth: depth.slice(0, n), end,
    tokLo: tokLo.slice(0, n), tokHi: tokHi.slice(0, n), tokens, maxDepth, nVocab: v.pieces.length,
  };
}

/** Lexicographic order of byte strings (in JS: Buffer.compare's native call costs more than the loop). */
function compareBytes(x: Uint8Array, y: Uint8Array): number {
  const n = x.length < y.length ? x.length : y.length;
  for (let k = 0; k < n; k++) if (x[k] !== y[k]) return x[k] - y[k];
  return x.length - y.length;
}
