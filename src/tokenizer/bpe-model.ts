// The BPE merge loop shared by GGUF byte-level vocabularies and tokenizer.json models.
// A word starts as one symbol per code point; the adjacent pair with the lowest merge rank
// (ties: leftmost) is merged until no ranked pair remains (llama.cpp `llm_tokenizer_bpe_session`,
// HF tokenizers `Word::merge_all`). Results are cached per word.
import { HearthError } from '../util/errors.ts';
import { MergeHeap } from './merge-heap.ts';

const utf8 = new TextEncoder();

/** What happens to a final symbol that is not a token. */
export type UnknownMode =
  | 'ascii-bytes' // llama.cpp byte-level BPE: look up each UTF-8 byte as a 1-char token (drops the rest)
  | 'hex-bytes' // byte fallback: <0xXX> tokens
  | 'unk'; // the unknown token

export interface BpeModelOptions {
  ignoreMerges?: boolean;
  unknown: UnknownMode;
  unkId?: number;
  /** Consecutive unknown symbols produce one unknown token (HF fuse_unk). */
  fuseUnk?: boolean;
}

const CACHE_MAX = 1 << 17;
/** Words longer than this are first cut at points no token can span (see splitPoints). */
const LONG_WORD = 48;
/** Characters that start words (space, ▁, byte-level space) and line breaks (newline, byte-level newline). */
const STARTERS = new Set([0x20, 0x2581, 0x120]);
const NEWLINES = new Set([0x0a, 0x10a]);

export class BpeModel {
  private readonly tokenToId: Map<string, number>;
  private readonly nVocab: number;
  /** (leftId * nVocab + rightId) -> merge rank */
  private readonly pairRank = new Map<number, number>();
  /** merge rank -> merged token id */
  private readonly mergedId: Int32Array;
  private readonly opts: BpeModelOptions;
  private readonly cache = new Map<string, number[]>();
  private readonly heap = new MergeHeap();
  private readonly hexByte: Int32Array;
  private start = new Int32Array(64);
  private len = new Int32Array(64);
  private ids = new Int32Array(64);
  private prev = new Int32Array(64);
  private next = new Int32Array(64);
  /** Adjacent code-unit pairs (left << 16 | right) inside some token, at candidate cut points. */
  private crossPairs: Set<number> | undefined;

  /** `merges` as [left, right] string pairs in rank order. */
  constructor(tokenToId: Map<string, number>, nVocab: number, merges: Iterable<[string, string]>, opts: BpeModelOptions) {
    this.tokenToId = tokenToId;
    this.nVocab = nVocab;
    this.opts = opts;
    const merged: number[] = [];
    let rank = 0;
    for (const [a, b] of merges) {
      const ia = tokenToId.get(a), ib = tokenToId.get(b), im = tokenToId.get(a + b);
      // A merge whose parts or result are not tokens can never produce a token; skip it.
      if (ia !== undefined && ib !== undefined && im !== undefined) {
        const key = ia * nVocab + ib;
        if (!this.pairRank.has(key)) {
          this.pairRank.set(key, merged.length);
          merged.push(im);
        }
      }
      rank++;
    }
    if (rank > 0 && merged.length === 0) {
      throw new HearthError('tokenizer_invalid', 'none of the BPE merges combines two tokens of the vocabulary');
    }
    this.mergedId = Int32Array.from(merged);
    this.hexByte = new Int32Array(256).fill(-1);
    if (opts.unknown === 'hex-bytes') {
      for (let b = 0; b < 256; b++) {
        this.hexByte[b] = tokenToId.get('<0x' + b.toString(16).toUpperCase().padStart(2, '0') + '>') ?? -1;
      }
    }
  }

  get mergeCount(): number { return this.mergedId.length; }

  /** Tokenizes one pre-tokenized word into `out`. */
  encodeWord(word: string, out: number[]): void {
    if (word.length > LONG_WORD) {
      let s = 0;
      for (const e of this.splitPoints(word)) {
        this.encodeWordCached(word.slice(s, e), out);
        s = e;
      }
      return;
    }
    this.encodeWordCached(word, out);
  }

  /**
   * Ends of the independent pieces of a long word. A point between two characters can be cut when
   * no token contains that character pair: every merged symbol is a token, so none can span it, and
   * merging each piece alone gives the same result as merging the whole word (which also makes the
   * per-piece cache usable for inputs without pre-tokenizer, such as SentencePiece-style BPE).
   * Only points before a word-start character or next to a newline are considered.
   */
  private *splitPoints(word: string): Iterable<number> {
    const pairs = this.crossPairs ?? this.buildCrossPairs();
    for (let i = 1; i < word.length; i++) {
      const a = word.charCodeAt(i - 1), b = word.charCodeAt(i);
      if (!(STARTERS.has(b) || NEWLINES.has(a) || NEWLINES.has(b))) continue;
      if (!pairs.has(a << 16 | b)) yield i;
    }
    yield word.length;
  }

  private buildCrossPairs(): Set<number> {
    const pairs = new Set<number>();
    for (const t of this.tokenToId.keys()) {
      for (let i = 1; i < t.length; i++) {
        const a = t.charCodeAt(i - 1), b = t.charCodeAt(i);
        if (STARTERS.has(b) || NEWLINES.has(a) || NEWLINES.has(b)) pairs.add(a << 16 | b);
      }
    }
    this.crossPairs = pairs;
    return pairs;
  }

  private encodeWordCached(word: string, out: number[]): void {
    const hit = this.cache.get(word);
    if (hit !== undefined) {
      for (let i = 0; i < hit.length; i++) out.push(hit[i]);
      return;
    }
    const res: number[] = [];
    this.mergeWord(word, res);
    if (word.length <= 256) {
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      this.cache.set(word, res);
    }
    for (let i = 0; i < res.length; i++) out.push(res[i]);
  }

  /** Tokenizes one word without the cache (and without cutting long words). */
  mergeWord(word: string, out: number[]): void {
    if (word.length === 0) return;
    const map = this.tokenToId;
    if (this.opts.ignoreMerges) {
      const id = map.get(word);
      if (id !== undefined) { out.push(id); return; }
    }
    this.ensure(word.length);
    const { start, len, ids, prev, next } = this;
    let n = 0;
    for (let i = 0; i < word.length;) {
      const c = word.charCodeAt(i);
      const w = c >= 0xd800 && c < 0xdc00 && i + 1 < word.length ? 2 : 1;
      start[n] = i; len[n] = w; prev[n] = n - 1; next[n] = n + 1;
      ids[n] = map.get(w === 1 ? word[i] : word.substr(i, 2)) ?? -1;
      n++;
      i += w;
    }
    next[n - 1] = -1;
    if (n > 1) {
      const heap = this.heap;
      heap.clear();
      for (let i = 1; i < n; i++) this.tryAdd(i - 1, i);
      while (heap.length > 0) {
        heap.pop();
        const l = heap.topLeft, r = heap.topRight;
        if (len[l] === 0 || len[r] === 0 || len[l] + len[r] !== heap.topSize) continue;
        ids[l] = this.mergedId[-heap.topKey];
        len[l] += len[r];
        len[r] = 0;
        next[l] = next[r];
        if (next[r] >= 0) prev[next[r]] = l;
        if (prev[l] >= 0) this.tryAdd(prev[l], l);
        if (next[l] >= 0) this.tryAdd(l, next[l]);
      }
    }
    let lastUnk = false;
    for (let i = 0; i !== -1; i = next[i]) {
      if (ids[i] >= 0) { out.push(ids[i]); lastUnk = false; continue; }
      const s = word.substr(start[i], len[i]);
      switch (this.opts.unknown) {
        case 'ascii-bytes':
          for (const b of utf8.encode(s)) {
            const id = b < 0x80 ? map.get(String.fromCharCode(b)) : undefined;
            if (id !== undefined) out.push(id);
          }
          break;
        case 'hex-bytes':
          for (const b of utf8.encode(s)) {
            const id = this.hexByte[b];
            if (id >= 0) out.push(id);
            else if (this.opts.unkId !== undefined && this.opts.unkId >= 0) out.push(this.opts.unkId);
          }
          break;
        case 'unk': {
          const unk = this.opts.unkId ?? -1;
          if (unk < 0) throw new HearthError('invalid_argument', `"${s}" has no token and the vocabulary has no unknown token`);
          if (!(this.opts.fuseUnk && lastUnk)) out.push(unk);
          lastUnk = true;
          continue;
        }
      }
      lastUnk = false;
    }
  }

  private tryAdd(l: number, r: number): void {
    const a = this.ids[l], b = this.ids[r];
    if (a < 0 || b < 0) return;
    const rank = this.pairRank.get(a * this.nVocab + b);
    if (rank === undefined) return;
    this.heap.push(-rank, l, r, this.len[l] + this.len[r]);
  }

  private ensure(n: number): void {
    if (this.start.length >= n) return;
    let cap = this.start.length;
    while (cap < n) cap *= 2;
    this.start = new Int32Array(cap);
    this.len = new Int32Array(cap);
    this.ids = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
  }
}
