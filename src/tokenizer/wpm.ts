// WordPiece for GGUF BERT vocabularies (llama.cpp `llm_tokenizer_wpm`): BERT-style normalization
// (accents stripped, lowercase, punctuation and CJK characters as single words), then greedy
// longest-match per word with a leading ▁ marking the word start; a word with an unmatched
// remainder becomes [UNK].
import type { Vocab } from './vocab.ts';

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

export interface WpmOptions { lowercase: boolean; stripAccents: boolean }

/** BERT pre-processing: the list of words. */
export function wpmWords(text: string, opts: WpmOptions): string[] {
  const src = opts.stripAccents ? text.normalize('NFD') : text;
  const words: string[] = [];
  let cur = '';
  for (const ch of src) {
    const c = ch.codePointAt(0)!;
    if (WHITESPACE.test(ch)) {
      if (cur) { words.push(cur); cur = ''; }
      continue;
    }
    if (c === 0 || c === 0xfffd || CONTROL.test(ch)) continue;
    if (opts.stripAccents && MARK.test(ch)) continue;
    const s = opts.lowercase ? ch.toLowerCase() : ch;
    if (PUNCT.test(ch) || (c < 0x7f && SYMBOL.test(ch)) || isChineseChar(c)) {
      if (cur) { words.push(cur); cur = ''; }
      words.push(s);
    } else {
      cur += s;
    }
  }
  if (cur) words.push(cur);
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
    const map = this.vocab.tokenToId;
    const maxLen = this.vocab.maxTokenLen;
    for (const word of wpmWords(text, this.opts)) {
      const w = '\u2581' + word;
      const n = w.length;
      const mark = out.length;
      for (let i = 0; i < n; i++) {
        let matched = false;
        for (let j = Math.min(n, i + maxLen + 1); j > i; j--) {
          const id = map.get(w.slice(i, j));
          if (id !== undefined) {
            out.push(id);
            matched = true;
            i = j - 1;
            break;
          }
        }
        if (!matched) { out.length = mark; break; }
      }
      if (out.length === mark) out.push(this.vocab.special.unk);
    }
  }
}
