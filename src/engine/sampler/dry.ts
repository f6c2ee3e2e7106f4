// DRY, "don't repeat yourself" (llama.cpp's llama_sampler_dry, after koboldcpp): a token that would extend a
// sequence already seen in the recent history gets its logit lowered by multiplier * base^(n - allowedLength), n
// the length of the repeat it would extend (n >= allowedLength). Sequence breakers (newline, colon, quote,
// asterisk by default) bound how far back a repeat may reach, so lists and dialogue can repeat their markers.
// The repeats of the history's suffix are found with the Z-algorithm over the reversed window: O(window) per step.
import type { Tokenizer } from '../../tokenizer/types.ts';
import type { Candidates } from './candidates.ts';
import type { Sampler } from './sampler.ts';

const f = Math.fround;

/** Sequence breakers as tokens: head token → the token tails that complete a breaker after it (an empty tail: the head alone is one). */
export type DryBreakers = ReadonlyMap<number, readonly Int32Array[]>;

export interface DryOptions {
  /** Penalty scale; 0 disables. */
  multiplier: number;
  /** Growth per token beyond allowedLength; must be >= 1. */
  base: number;
  /** Repeats up to this many tokens are free. */
  allowedLength: number;
  /** Accepted tokens scanned; -1 means all of them, 0 disables. */
  lastN: number;
  breakers: DryBreakers;
}

/** llama.cpp's cap on exponents: base^exp stays below the float maximum. */
const FLOAT_MAX_LOG = Math.fround(88.7228391);

export class DrySampler implements Sampler {
  readonly name = 'dry';
  readonly multiplier: number;
  readonly base: number;
  readonly allowedLength: number;
  readonly lastN: number;
  readonly breakers: DryBreakers;
  private readonly singleBreakers = new Set<number>();
  private readonly maxExponent: number;
  // history: a ring of lastN tokens, or (lastN = -1) a growing list; `count` tokens live, the newest at `end - 1`
  private hist: Int32Array;
  private end = 0;
  private count = 0;
  // per-step scratch, reused: the window newest first, its Z values, and the longest repeat each next token extends
  private rev = new Int32Array(0);
  private z = new Int32Array(0);
  private maxRepeat = new Int32Array(0);
  private touched = new Int32Array(0);

  constructor(opts: DryOptions) {
    this.multiplier = f(opts.multiplier);
    this.base = f(opts.base);
    this.allowedLength = Math.floor(opts.allowedLength);
    this.lastN = opts.lastN < 0 ? -1 : Math.floor(opts.lastN);
    this.breakers = opts.breakers;
    for (const [head, tails] of opts.breakers) if (tails.some((t) => t.length === 0)) this.singleBreakers.add(head);
    this.maxExponent = this.base > 1.000001 ? Math.trunc(f(FLOAT_MAX_LOG / f(Math.log(this.base)))) : 0;
    this.hist = new Int32Array(this.lastN > 0 ? this.lastN : this.lastN < 0 ? 256 : 0);
  }

  accept(token: number): void {
    if (this.lastN === 0) return;
    if (token >= this.maxRepeat.length) this.growRepeat(token + 1);
    if (this.lastN > 0) {
      this.hist[this.end] = token;
      this.end = (this.end + 1) % this.lastN;
      if (this.count < this.lastN) this.count++;
      return;
    }
    if (this.end === this.hist.length) {
      const h = new Int32Array(this.hist.length * 2);
      h.set(this.hist);
      this.hist = h;
    }
    this.hist[this.end++] = token;
    this.count++;
  }

  apply(c: Candidates): void {
    if (this.multiplier === 0 || this.base < 1 || this.lastN === 0) return;
    const n = this.count;
    const allowed = this.allowedLength;
    if (n <= allowed) return;
    if (this.rev.length < n) {
      this.rev = new Int32Array(this.hist.length);
      this.z = new Int32Array(this.hist.length);
      this.touched = new Int32Array(this.hist.length);
    }
    const rev = this.rev;
    const cap = this.hist.length;
    for (let i = 0; i < n; i++) rev[i] = this.hist[(this.end - 1 - i + cap) % cap];

    // 1. The most recent complete breaker bounds every repeat: none may reach back across it.
    let limit = n;
    for (let i = 0; i < n; i++) {
      const tails = this.breakers.get(rev[i]);
      if (tails === undefined) continue;
      let longest = -1;
      for (const tail of tails) {
        const len = tail.length;
        if (len <= longest || len > i) continue;
        let match = true;
        for (let o = 0; o < len && match; o++) match = tail[o] === rev[i - o - 1];
        if (match) longest = len;
      }
      if (longest >= 0) {
        limit = i - longest;
        break;
      }
    }
    if (limit < allowed) return;

    // 2. z[k]: how many of the newest tokens also end k positions earlier (the Z-algorithm on the reversed window).
    const z = this.z;
    let l = 0;
    let r = 0; // [l, r) is the rightmost match box found so far
    for (let k = 1; k < n; k++) {
      let m = k < r ? Math.min(r - k, z[k - l]) : 0;
      while (k + m < n && rev[m] === rev[k + m]) m++;
      z[k] = m;
      if (k + m > r) {
        l = k;
        r = k + m;
      }
    }

    // 3. The token after each earlier occurrence would extend that repeat; keep the longest per token.
    const maxRepeat = this.maxRepeat;
    const touched = this.touched;
    let nTouched = 0;
    for (let k = 1; k < n; k++) {
      const len = Math.min(z[k], limit);
      if (len < allowed) continue;
      const tok = rev[k - 1];
      if (maxRepeat[tok] < 0) touched[nTouched++] = tok;
      if (maxRepeat[tok] < len) maxRepeat[tok] = len;
    }

    // 4. Penalise them, except tokens that are breakers by themselves.
    const logits = c.logits;
    if (c.identity) {
      for (let j = 0; j < nTouched; j++) {
        const id = touched[j];
        if (id < c.size) logits[id] = this.penalised(id, logits[id], maxRepeat[id]);
      }
    } else {
      for (let i = 0; i < c.size; i++) {
        const id = c.ids[i];
        const len = id < maxRepeat.length ? maxRepeat[id] : -1;
        if (len >= 0) logits[i] = this.penalised(id, logits[i], len);
      }
    }
    for (let j = 0; j < nTouched; j++) maxRepeat[touched[j]] = -1;
    c.sorted = false;
  }

  reset(): void {
    this.end = 0;
    this.count = 0;
  }

  clone(): DrySampler {
    const s = new DrySampler({
      multiplier: this.multiplier, base: this.base, allowedLength: this.allowedLength, lastN: this.lastN, breakers: this.breakers,
    });
    s.hist = this.hist.slice();
    s.end = this.end;
    s.count = this.count;
    s.growRepeat(this.maxRepeat.length);
    return s;
  }

  private penalised(id: number, logit: number, len: number): number {
    if (this.singleBreakers.has(id)) return logit;
    let exp = len - this.allowedLength;
    if (this.maxExponent > 0 && exp > this.maxExponent) exp = this.maxExponent;
    return f(logit - f(this.multiplier * Math.pow(this.base, exp)));
  }

  private growRepeat(n: number): void {
    if (n <= this.maxRepeat.length) return;
    const m = new Int32Array(Math.max(n, this.maxRepeat.length * 2));
    m.fill(-1);
    m.set(this.maxRepeat);
    this.maxRepeat = m;
  }
}

/** The vocabulary as DRY reads it: each token's text as llama.cpp detokenizes it alone, and the tokenizer. */
export interface DryVocab {
  readonly size: number;
  /** The bytes token id adds to generated text (Tokenizer.tokenBytes). */
  raw(id: number): Uint8Array;
  /**
   * Bytes of token id's text as llama.cpp's detokenize of that token alone gives it (control tokens shown, the SPM
   * space prefix removed, spaces cleaned up where the vocabulary does): a subsequence of raw(id).
   */
  piece(id: number): Uint8Array;
  /** Tokens of a text without BOS/EOS or special-token parsing. */
  tokenize(text: string): number[];
}

const vocabs = new WeakMap<Tokenizer, DryVocab>();
const breakerCache = new WeakMap<DryVocab, Map<string, Map<number, Int32Array[]>>>();
const utf8 = new TextEncoder();
const utf8dec = new TextDecoder();

/** The DRY view of a tokenizer, one per tokenizer; a token's detokenized text is computed when first asked for. */
export function dryVocab(tokenizer: Tokenizer): DryVocab {
  let v = vocabs.get(tokenizer);
  if (v) return v;
  const pieces: (Uint8Array | undefined)[] = new Array(tokenizer.vocabSize);
  v = {
    size: tokenizer.vocabSize,
    raw: (id) => tokenizer.tokenBytes(id),
    piece: (id) => {
      let p = pieces[id];
      if (p === undefined) {
        // decode() applies llama.cpp's single-token rules (space prefix, space clean-up); a lone byte of a
        // multi-byte character does not survive it as text, so such a token keeps its raw bytes.
        const text = tokenizer.decode([id], { skipSpecial: false });
        pieces[id] = p = text.includes('\uFFFD') ? tokenizer.tokenBytes(id) : utf8.encode(text);
      }
      return p;
    },
    tokenize: (text) => tokenizer.encode(text, { addBos: false, addEos: false, parseSpecial: false }),
  };
  vocabs.set(tokenizer, v);
  return v;
}

/** llama.cpp's limits: breakers are cut to 40 bytes, their tails to 20 tokens. */
const MAX_BREAKER_BYTES = 40;
const MAX_TAIL_TOKENS = 20;

/**
 * Sequence breakers as token sequences (llama.cpp's get_overlapping_token_sequences): every token whose text
 * contains a breaker is a breaker alone; a token whose text ends with the start of a breaker is a head, with the
 * tokenization of the rest of the breaker as its tail. Empty strings are skipped. Cached per vocabulary and breaker.
 */
export function dryBreakers(vocab: DryVocab, strings: readonly string[]): Map<number, Int32Array[]> {
  let cache = breakerCache.get(vocab);
  if (!cache) breakerCache.set(vocab, (cache = new Map()));
  const out = new Map<number, Int32Array[]>();
  for (const s of strings) {
    if (s.length === 0) continue;
    let one = cache.get(s);
    if (!one) cache.set(s, (one = breakerSequences(vocab, utf8.encode(s).subarray(0, MAX_BREAKER_BYTES))));
    for (const [head, tails] of one) {
      const list = out.get(head) ?? [];
      for (const t of tails) if (!list.some((x) => sameTokens(x, t))) list.push(t);
      out.set(head, list);
    }
  }
  return out;
}

function breakerSequences(vocab: DryVocab, str: Uint8Array): Map<number, Int32Array[]> {
  const out = new Map<number, Int32Array[]>();
  const add = (id: number, tail: Int32Array) => {
    const list = out.get(id);
    if (!list) out.set(id, [tail]);
    else if (!list.some((x) => sameTokens(x, tail))) list.push(tail);
  };
  const tails = new Map<number, Int32Array>(); // by the number of breaker bytes the head covers
  const first = str[0];
  for (let id = 0; id < vocab.size; id++) {
    // the detokenized text is a subsequence of the raw bytes: without the breaker's first byte there, no match
    if (indexOf(vocab.raw(id), first, 0) < 0) continue;
    const word = vocab.piece(id);
    if (contains(word, str)) {
      add(id, new Int32Array(0));
      continue;
    }
    for (let pos = indexOf(word, first, 0); pos >= 0; pos = indexOf(word, first, pos + 1)) {
      let i = 1;
      let match = true;
      for (; i < str.length && pos + i < word.length; i++) {
        if (word[pos + i] !== str[i]) {
          match = false;
          break;
        }
      }
      if (!match) continue;
      let tail = tails.get(i);
      if (!tail) {
        tail = Int32Array.from(vocab.tokenize(utf8dec.decode(str.subarray(i))).slice(0, MAX_TAIL_TOKENS));
        tails.set(i, tail);
      }
      add(id, tail);
    }
  }
  return out;
}

function indexOf(a: Uint8Array, b: number, from: number): number {
  for (let i = from; i < a.length; i++) if (a[i] === b) return i;
  return -1;
}

function contains(word: Uint8Array, s: Uint8Array): boolean {
  const last = word.length - s.length;
  for (let at = 0; at <= last; at++) {
    if (word[at] !== s[0]) continue;
    let k = 1;
    while (k < s.length && word[at + k] === s[k]) k++;
    if (k === s.length) return true;
  }
  return false;
}

function sameTokens(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
