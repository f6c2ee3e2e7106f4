// Grammar-constrained sampling for one sequence: mask() removes every token the grammar cannot take
// next, accept() advances past the token that was picked. Masks are cached per matcher state, since
// the same states recur (inside a JSON string, after each array element ...).
import { HearthError } from '../../../util/errors.ts';
import { automatonFor, DEAD, UNKNOWN, type Automaton } from './automaton.ts';
import type { Grammar } from './parse.ts';
import { vocabTrie, type GrammarVocab, type VocabTrie } from './vocab.ts';

/** Bytes of cached masks kept per (grammar, vocabulary) before the cache starts over. */
const MASK_CACHE_BYTES = 64 << 20;

interface MaskCache { trie: VocabTrie; masks: Map<number, Uint32Array>; limit: number }

const maskCaches = new WeakMap<Automaton, WeakMap<GrammarVocab, MaskCache>>();

function maskCacheFor(a: Automaton, vocab: GrammarVocab): MaskCache {
  let byVocab = maskCaches.get(a);
  if (!byVocab) { byVocab = new WeakMap(); maskCaches.set(a, byVocab); }
  let c = byVocab.get(vocab);
  if (!c) {
    const trie = vocabTrie(vocab);
    c = { trie, masks: new Map(), limit: Math.max(16, Math.floor(MASK_CACHE_BYTES / (((trie.nVocab + 31) >> 5) * 4))) };
    byVocab.set(vocab, c);
  }
  return c;
}

/** The allowed tokens from a state (EOG excluded): one walk of the trie, skipping rejected subtrees. */
function allowedTokens(a: Automaton, t: VocabTrie, start: number): Uint32Array {
  const bits = new Uint32Array((t.nVocab + 31) >> 5);
  const { byte, depth, end, tokLo, tokHi, tokens } = t;
  const tables = a.tables;
  const states = new Int32Array(t.maxDepth + 1);
  states[0] = start;
  const n = t.size;
  let i = 0;
  while (i < n) {
    const d = depth[i];
    const from = states[d - 1];
    const b = byte[i];
    const tab = tables[from];
    let s = tab === undefined ? UNKNOWN : tab[b];
    if (s === UNKNOWN) s = a.computeNext(from, b);
    if (s === DEAD) { i = end[i]; continue; }
    states[d] = s;
    for (let k = tokLo[i], e = tokHi[i]; k < e; k++) {
      const id = tokens[k];
      bits[id >>> 5] |= 1 << (id & 31);
    }
    i++;
  }
  return bits;
}

/** The grammar's state for one sequence. */
export class GrammarSampler {
  private readonly automaton: Automaton;
  private readonly vocab: GrammarVocab;
  private readonly cache: MaskCache;
  private state: number;

  constructor(grammar: Grammar, vocab: GrammarVocab) {
    this.automaton = automatonFor(grammar);
    this.vocab = vocab;
    this.cache = maskCacheFor(this.automaton, vocab);
    this.state = this.automaton.initial;
  }

  /** The tokens the grammar accepts next as a bitset over ids (EOG not included; see `complete`). */
  allowed(): Uint32Array {
    const c = this.cache;
    let bits = c.masks.get(this.state);
    if (!bits) {
      bits = allowedTokens(this.automaton, c.trie, this.state);
      if (c.masks.size >= c.limit) c.masks.clear();
      c.masks.set(this.state, bits);
    }
    return bits;
  }

  /** Sets every token the grammar cannot accept next to -Infinity, in place; end-of-generation tokens are allowed only when the grammar can be complete here. */
  mask(logits: Float32Array): void {
    const bits = this.allowed();
    const eogOk = this.complete;
    const eogLogits = eogOk ? [...this.vocab.eog].map((id) => logits[id]) : [];
    const n = Math.min(logits.length, this.vocab.pieces.length);
    for (let w = 0, i = 0; i < n; w++) {
      const word = bits[w];
      const e = Math.min(i + 32, n);
      if (word === 0xffffffff) { i = e; continue; }
      if (word === 0) { for (; i < e; i++) logits[i] = -Infinity; continue; }
      for (let j = 0; i < e; i++, j++) if (!((word >>> j) & 1)) logits[i] = -Infinity;
    }
    for (let i = n; i < logits.length; i++) logits[i] = -Infinity;
    // EOG ids are not in the trie, so the loop above cleared them; they stand only where the text is complete.
    if (eogOk) {
      let k = 0;
      for (const id of this.vocab.eog) { const x = eogLogits[k++]; if (id < logits.length) logits[id] = x; }
    }
  }

  /** Whether the grammar accepts this token next (EOG: only when complete). */
  allows(token: number): boolean {
    if (this.vocab.eog.has(token)) return this.complete;
    const bits = this.allowed();
    return token >= 0 && token < this.vocab.pieces.length && ((bits[token >>> 5] >>> (token & 31)) & 1) === 1;
  }

  /** Advances past a generated token (throws HearthError('internal') if the token was not allowed). */
  accept(token: number): void {
    if (this.vocab.eog.has(token)) {
      if (!this.complete) throw new HearthError('internal', `grammar: end-of-generation token ${token} was sampled before the grammar was complete`);
      return;
    }
    const p = this.vocab.pieces[token];
    if (!p || p.length === 0) throw new HearthError('internal', `grammar: token ${token} has no text and cannot be accepted`);
    let s = this.state;
    for (let k = 0; k < p.length && s !== DEAD; k++) s = this.automaton.next(s, p[k]);
    if (s === DEAD) throw new HearthError('internal', `grammar: token ${token} (${JSON.stringify(new TextDecoder().decode(p))}) is not allowed by the grammar here`);
    this.state = s;
  }

  /** Advances past raw bytes; false (state unchanged) when the grammar rejects them. For tests and prefilled text. */
  acceptBytes(bytes: Uint8Array): boolean {
    let s = this.state;
    for (let k = 0; k < bytes.length && s !== DEAD; k++) s = this.automaton.next(s, bytes[k]);
    if (s === DEAD) return false;
    this.state = s;
    return true;
  }

  /** True when the text so far is a complete match of the root rule. */
  get complete(): boolean { return this.automaton.isComplete(this.state); }

  /** True when no more bytes can be accepted (the generation must end). */
  get done(): boolean { return this.automaton.isDone(this.state); }

  clone(): GrammarSampler {
    const c = Object.create(GrammarSampler.prototype) as GrammarSampler;
    Object.assign(c, this);
    return c;
  }
}
