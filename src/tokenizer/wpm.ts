// WordPiece for GGUF BERT vocabularies (llama.cpp `llm_tokenizer_wpm`): llama.cpp's BERT-style
// normalization (see wpm-chars.ts for its per-character rules: first code point of the NFD only,
// marks dropped, lowercase, punctuation and CJK characters as single words), then greedy
// longest-match per word with a leading ▁ marking the word start; a word with an unmatched
// remainder becomes [UNK].
import type { Vocab } from './vocab.ts';
import { AsciiWordCache } from './ascii-word-cache.ts';
import { charRule, computeCharRule, NORMAL, SPACE, DROP, SPLIT, type WpmCharOptions } from './wpm-chars.ts';

const WORD_CACHE_MAX = 1 << 16;

export type WpmOptions = WpmCharOptions;

// ASCII characters are classified once per option set, by the same rules as the rest. An ASCII
// character maps to itself (NFD leaves it alone), up to case.
function asciiKinds(opts: WpmOptions): Uint8Array {
  const k = new Uint8Array(128);
  for (let c = 0; c < 128; c++) k[c] = computeCharRule(c, opts).kind;
  return k;
}
const ASCII_KINDS = [false, true].map((lowercase) => [false, true].map((stripAccents) => asciiKinds({ lowercase, stripAccents })));

/**
 * BERT pre-processing: calls `onWord` for each word in order, except that a word which is one run
 * of ASCII characters in `text` goes to `onAscii` as its range, not yet lowercased. Lowercasing an
 * ASCII-only string at once equals lowercasing each character.
 */
function splitWords(
  text: string, opts: WpmOptions,
  onWord: (word: string) => void, onAscii: (src: string, start: number, end: number) => void,
): void {
  const kinds = ASCII_KINDS[opts.lowercase ? 1 : 0][opts.stripAccents ? 1 : 0];
  const lower = opts.lowercase;
  const n = text.length;
  let cur = '';
  let run = -1; // start of the pending run of ordinary ASCII characters
  for (let i = 0; i < n;) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      const k = kinds[c];
      if (k === NORMAL) { if (run < 0) run = i; i++; continue; }
      if (run >= 0) {
        if (k !== DROP && cur === '') onAscii(text, run, i);
        else { const r = text.slice(run, i); cur += lower ? r.toLowerCase() : r; }
        run = -1;
      }
      if (k === DROP) { i++; continue; }
      if (cur) { onWord(cur); cur = ''; }
      if (k === SPLIT) onAscii(text, i, i + 1);
      i++;
      continue;
    }
    if (run >= 0) { const r = text.slice(run, i); cur += lower ? r.toLowerCase() : r; run = -1; }
    const cp = text.codePointAt(i)!;
    i += cp > 0xffff ? 2 : 1;
    const rule = charRule(cp, opts);
    if (rule.kind === NORMAL) cur += rule.text;
    else if (rule.kind === SPACE || rule.kind === SPLIT) {
      if (cur) { onWord(cur); cur = ''; }
      if (rule.kind === SPLIT) onWord(rule.text);
    }
  }
  if (run >= 0) {
    if (cur === '') onAscii(text, run, n);
    else { const r = text.slice(run); cur += lower ? r.toLowerCase() : r; }
  }
  if (cur) onWord(cur);
}

/** BERT pre-processing: the list of words. */
export function wpmWords(text: string, opts: WpmOptions): string[] {
  const words: string[] = [];
  splitWords(text, opts, (w) => words.push(w), (src, start, end) => {
    const r = src.slice(start, end);
    words.push(opts.lowercase ? r.toLowerCase() : r);
  });
  return words;
}

export class WpmEncoder {
  private readonly vocab: Vocab;
  private readonly opts: WpmOptions;

  constructor(vocab: Vocab, opts: WpmOptions = { lowercase: true, stripAccents: true }) {
    this.vocab = vocab;
    this.opts = opts;
  }

  encode(text: string, out: number[]): void {
    // Words repeat a lot in real text; each distinct word is matched once per call (bounded, so a
    // text of endless distinct words cannot grow the memo without end).
    const seen = new Map<string, number[]>();
    const ascii = new AsciiWordCache<number[]>(this.opts.lowercase, WORD_CACHE_MAX);
    const make = (word: string): number[] => this.encodeWord(word);
    const emit = (ids: number[]): void => { for (let k = 0; k < ids.length; k++) out.push(ids[k]); };
    splitWords(text, this.opts, (word) => {
      let ids = seen.get(word);
      if (ids === undefined) {
        ids = this.encodeWord(word);
        if (seen.size < WORD_CACHE_MAX) seen.set(word, ids);
      }
      emit(ids);
    }, (src, start, end) => emit(ascii.get(src, start, end, make)));
  }

  private encodeWord(word: string): number[] {
    const map = this.vocab.tokenToId;
    const maxLen = this.vocab.maxTokenLen;
    const w = '\u2581' + word;
    const n = w.length;
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      let matched = false;
      for (let j = Math.min(n, i + maxLen + 1); j > i; j--) {
        const id = map.get(w.slice(i, j));
        if (id !== undefined) {
          ids.push(id);
          matched = true;
          i = j - 1;
          break;
        }
      }
      if (!matched) return [this.vocab.special.unk];
    }
    return ids.length ? ids : [this.vocab.special.unk];
  }
}
