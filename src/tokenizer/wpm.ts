// WordPiece for GGUF BERT vocabularies (llama.cpp `llm_tokenizer_wpm`): BERT-style normalization
// (accents stripped, lowercase, punctuation and CJK characters as single words), then greedy
// longest-match per word with a leading ▁ marking the word start; a word with an unmatched
// remainder becomes [UNK].
import type { Vocab } from './vocab.ts';
import { AsciiWordCache } from './ascii-word-cache.ts';

const WHITESPACE = /[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;
const CONTROL = /\p{C}/u;
const PUNCT = /\p{P}/u;
const SYMBOL = /\p{S}/u;
const MARK = /\p{Mn}/u;

function isChineseChar(c: number): boolean {
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x20000 && c <= 0x2a6df) ||
    (c >= 0x2a700 && c <= 0x2b73f) || (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b920 && c <= 0x2ceaf) ||
    (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

const WORD_CACHE_MAX = 1 << 16;

export interface WpmOptions { lowercase: boolean; stripAccents: boolean }

// ASCII characters are classified once, from the same rules the general path applies.
const NORMAL = 0, SPACE = 1, DROP = 2, SPLIT = 3;
const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  ASCII_CLASS[c] = WHITESPACE.test(ch) ? SPACE : c === 0 || CONTROL.test(ch) ? DROP
    : PUNCT.test(ch) || (c < 0x7f && SYMBOL.test(ch)) ? SPLIT : NORMAL;
}

const NON_ASCII = /[^\0-\x7f]+/g;

/**
 * NFD of the non-ASCII stretches only. ASCII characters neither decompose nor reorder with marks
 * around them, so this equals text.normalize('NFD'), without copying a mostly-ASCII text.
 */
function nfd(text: string): string {
  return text.replace(NON_ASCII, (m) => m.normalize('NFD'));
}

/**
 * BERT pre-processing: calls `onWord` for each word in order, except that a word which is one run
 * of ASCII characters in `src` (the text after NFD, passed along) goes to `onAscii` as its range,
 * not yet lowercased. Lowercasing an ASCII-only string at once equals lowercasing each character.
 */
function splitWords(
  text: string, opts: WpmOptions,
  onWord: (word: string) => void, onAscii: (src: string, start: number, end: number) => void,
): void {
  const src = opts.stripAccents ? nfd(text) : text;
  const lower = opts.lowercase;
  const n = src.length;
  let cur = '';
  let run = -1; // start of the pending run of ordinary ASCII characters
  for (let i = 0; i < n;) {
    const c = src.charCodeAt(i);
    if (c < 0x80) {
      const k = ASCII_CLASS[c];
      if (k === NORMAL) { if (run < 0) run = i; i++; continue; }
      if (run >= 0) {
        if (k !== DROP && cur === '') onAscii(src, run, i);
        else { const r = src.slice(run, i); cur += lower ? r.toLowerCase() : r; }
        run = -1;
      }
      if (k === DROP) { i++; continue; }
      if (cur) { onWord(cur); cur = ''; }
      if (k === SPLIT) onAscii(src, i, i + 1);
      i++;
      continue;
    }
    if (run >= 0) { const r = src.slice(run, i); cur += lower ? r.toLowerCase() : r; run = -1; }
    const cp = src.codePointAt(i)!;
    const ch = cp > 0xffff ? src.slice(i, i + 2) : src[i];
    i += ch.length;
    if (WHITESPACE.test(ch)) {
      if (cur) { onWord(cur); cur = ''; }
      continue;
    }
    if (cp === 0xfffd || CONTROL.test(ch)) continue;
    if (opts.stripAccents && MARK.test(ch)) continue;
    const s = lower ? ch.toLowerCase() : ch;
    if (PUNCT.test(ch) || isChineseChar(cp)) {
      if (cur) { onWord(cur); cur = ''; }
      onWord(s);
    } else {
      cur += s;
    }
  }
  if (run >= 0) {
    if (cur === '') onAscii(src, run, n);
    else { const r = src.slice(run); cur += lower ? r.toLowerCase() : r; }
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
