// SentencePiece-style BPE over scores (llama.cpp `llm_tokenizer_spm`): start from single code points,
// repeatedly merge the adjacent pair whose concatenation is the best-scoring token (ties: leftmost),
// then emit each symbol as its token or, failing that, as byte tokens <0xXX>.
import type { Vocab } from './vocab.ts';
import { MergeHeap } from './merge-heap.ts';

const utf8 = new TextEncoder();

const CACHE_MAX = 1 << 17;

export class SpmEncoder {
  private readonly vocab: Vocab;
  /**
   * True when no token has ▁ after a non-▁ character. Then no merge can span the point just before
   * a ▁ that follows another character, and words starting there are tokenized independently and
   * cached: the same result as one global merge queue, much faster on long text.
   */
  private readonly wordSplit: boolean;
  private readonly cache = new Map<string, number[]>();
  private readonly heap = new MergeHeap();
  private start = new Int32Array(256);
  private len = new Int32Array(256);
  private prev = new Int32Array(256);
  private next = new Int32Array(256);

  constructor(vocab: Vocab) {
    this.vocab = vocab;
    let ok = true;
    for (const t of vocab.tokens) {
      for (let k = t.indexOf('\u2581', 1); k > 0; k = t.indexOf('\u2581', k + 1)) {
        if (t.charCodeAt(k - 1) !== 0x2581) { ok = false; break; }
      }
      if (!ok) break;
    }
    this.wordSplit = ok;
  }

  /** Tokenizes already-escaped text (spaces replaced by U+2581) into `out`. */
  encode(text: string, out: number[]): void {
    if (!this.wordSplit || text.length < 64) { this.encodeRun(text, out); return; }
    let s = 0;
    for (let i = 1; i <= text.length; i++) {
      if (i < text.length && !(text.charCodeAt(i) === 0x2581 && text.charCodeAt(i - 1) !== 0x2581)) continue;
      const w = text.slice(s, i);
      s = i;
      const hit = this.cache.get(w);
      if (hit !== undefined) { for (let k = 0; k < hit.length; k++) out.push(hit[k]); continue; }
      const res: number[] = [];
      this.encodeRun(w, res);
      if (w.length <= 256) {
        if (this.cache.size >= CACHE_MAX) this.cache.clear();
        this.cache.set(w, res);
      }
      for (let k = 0; k < res.length; k++) out.push(res[k]);
    }
  }

  private encodeRun(text: string, out: number[]): void {
    if (text.length === 0) return;
    this.ensure(text.length);
    const { start, len, prev, next } = this;
    let n = 0;
    for (let i = 0; i < text.length;) {
      const c = text.charCodeAt(i);
      const w = c >= 0xd800 && c < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
      start[n] = i; len[n] = w; prev[n] = n - 1; next[n] = n + 1;
      n++;
      i += w;
    }
    next[n - 1] = -1;

    const heap = this.heap;
    heap.clear();
    for (let i = 1; i < n; i++) this.tryAdd(text, i - 1, i);

    while (heap.length > 0) {
      heap.pop();
      const l = heap.topLeft, r = heap.topRight;
      // Skip entries made stale by an earlier merge.
      if (len[l] === 0 || len[r] === 0 || len[l] + len[r] !== heap.topSize) continue;
      len[l] += len[r];
      len[r] = 0;
      next[l] = next[r];
      if (next[r] >= 0) prev[next[r]] = l;
      if (prev[l] >= 0) this.tryAdd(text, prev[l], l);
      if (next[l] >= 0) this.tryAdd(text, l, next[l]);
    }

    const map = this.vocab.tokenToId;
    for (let i = 0; i !== -1; i = next[i]) {
      const s = text.substr(start[i], len[i]);
      const id = map.get(s);
      if (id !== undefined) { out.push(id); continue; }
      // Byte fallback (a merged symbol is always a token, so only single code points land here).
      for (const b of utf8.encode(s)) {
        const t = this.vocab.byteToToken(b);
        if (t >= 0) out.push(t);
        else if (this.vocab.special.unk >= 0) out.push(this.vocab.special.unk);
      }
    }
    if (this.start.length > 1 << 20) this.start = this.len = this.prev = this.next = new Int32Array(0);
  }

  private tryAdd(text: string, left: number, right: number): void {
    const size = this.len[left] + this.len[right];
    const id = this.vocab.tokenToId.get(text.substr(this.start[left], size));
    if (id === undefined) return;
    this.heap.push(this.vocab.scores[id], left, right, size);
  }

  private ensure(n: number): void {
    if (this.start.length >= n) return;
    let cap = Math.max(256, this.start.length);
    while (cap < n) cap *= 2;
    this.start = new Int32Array(cap);
    this.len = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
  }
}
