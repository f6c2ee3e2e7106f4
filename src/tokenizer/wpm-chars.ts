// What llama.cpp's WordPiece pre-processing (llm_tokenizer_wpm_session::preprocess) does with one
// code point. It is not BERT's (or HF tokenizers') normalizer, and the differences matter outside
// Latin text:
// - "NFD" keeps only the FIRST code point of a character's canonical decomposition and throws the
//   rest away; there is no multi-code-point output and no reordering. So é → e, and a Hangul
//   syllable keeps only its leading consonant jamo: 한 → ᄒ (the vowel and final jamo, which are
//   letters and would survive an accent strip, never appear).
// - Accent stripping drops every mark, \p{M} (Mn, Mc and Me), not just nonspacing marks, so
//   Devanagari and Thai spacing vowel signs (Mc) go too.
// - "Control" is Cc, Cf, Co and Cs; unassigned code points (Cn) are ordinary characters.
// - Lowercasing is the simple one-to-one mapping (İ → i, not i + U+0307).
// - Splitting: whitespace ends a word; punctuation \p{P}, ASCII symbols and CJK ideographs are
//   words of their own. All tests apply to the code point after the NFD step.
// llama.cpp's tables are Unicode 15.1; later code points are unassigned to it (unicode-15-1.ts).
import { assignedAfterUnicode15_1 } from './unicode-15-1.ts';

export const NORMAL = 0, SPACE = 1, DROP = 2, SPLIT = 3;
export type CharKind = typeof NORMAL | typeof SPACE | typeof DROP | typeof SPLIT;

export interface WpmCharOptions { lowercase: boolean; stripAccents: boolean }

/** What one code point becomes: its kind, and for NORMAL/SPLIT the text it contributes. */
export interface CharRule { kind: CharKind; text: string }

// llama.cpp's whitespace set (Unicode White_Space), which it checks before anything else.
const WHITESPACE = /[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;
const CONTROL = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/u;
const PUNCT = /\p{P}/u;
const SYMBOL = /\p{S}/u;
const MARK = /\p{M}/u;

function isChineseChar(c: number): boolean {
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x20000 && c <= 0x2a6df) ||
    (c >= 0x2a700 && c <= 0x2b73f) || (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b920 && c <= 0x2ceaf) ||
    (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

/** The rule for `cp`, computed from scratch (see charRule for the memoised form). */
export function computeCharRule(cp: number, opts: WpmCharOptions): CharRule {
  const known = !assignedAfterUnicode15_1(cp);
  let ch = String.fromCodePoint(cp);
  let c = cp;
  if (opts.stripAccents && known && cp >= 0x80) {
    c = ch.normalize('NFD').codePointAt(0)!;
    ch = String.fromCodePoint(c);
  }
  if (WHITESPACE.test(ch)) return { kind: SPACE, text: '' };
  // Unassigned to llama.cpp: no category or case, but the CJK ranges are plain numbers.
  if (!known) return { kind: isChineseChar(cp) ? SPLIT : NORMAL, text: ch };
  if (c === 0 || c === 0xfffd || CONTROL.test(ch)) return { kind: DROP, text: '' };
  if (opts.stripAccents && MARK.test(ch)) return { kind: DROP, text: '' };
  // The simple lowercase mapping is the first code point of the full one: U+0130 is the only
  // character whose full lowercase is longer (i + U+0307), and its simple mapping is plain i.
  const text = opts.lowercase ? String.fromCodePoint(ch.toLowerCase().codePointAt(0)!) : ch;
  const split = PUNCT.test(ch) || (c < 0x7f && SYMBOL.test(ch)) || isChineseChar(c);
  return { kind: split ? SPLIT : NORMAL, text };
}

// Per option set, code point -> rule. Text uses a few hundred distinct code points at most; the
// bound only stops a text of every code point from growing the memo without end.
const MEMO_MAX = 1 << 16;
const memos = [new Map<number, CharRule>(), new Map<number, CharRule>(), new Map<number, CharRule>(), new Map<number, CharRule>()];

export function charRule(cp: number, opts: WpmCharOptions): CharRule {
  const memo = memos[(opts.lowercase ? 1 : 0) | (opts.stripAccents ? 2 : 0)];
  let r = memo.get(cp);
  if (r === undefined) {
    r = computeCharRule(cp, opts);
    if (memo.size < MEMO_MAX) memo.set(cp, r);
  }
  return r;
}
