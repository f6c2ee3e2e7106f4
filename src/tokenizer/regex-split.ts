// Splits text with a list of pre-tokenizer regexes (llama.cpp `unicode_regex_split`): each regex
// cuts every piece from the previous step into its matches and the text between them.
// `\s` is rewritten to Unicode White_Space (what Rust/Python/llama.cpp use; JS `\s` differs on
// U+0085 and U+FEFF).
import { HearthError } from '../util/errors.ts';

const WS = '\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** Rewrites `\s` / `\S` (inside and outside character classes) to explicit White_Space sets. */
export function rewriteWhitespace(src: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\' && i + 1 < src.length) {
      const d = src[i + 1];
      i++;
      if (d === 's') out += inClass ? WS : `[${WS}]`;
      else if (d === 'S' && !inClass) out += `[^${WS}]`;
      else out += '\\' + d;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return out;
}

/** Longest pre-tokenizer or normalizer pattern read from a file (real ones are under 300 characters). */
export const MAX_PATTERN_CHARS = 4096;

/**
 * Why a pattern from a file (tokenizer.json) could take exponential time on some input, or undefined: it is too long,
 * or a quantified group holds a quantifier of its own (`(a+)+`, `(?:\\s*x?)*`), the shape of catastrophic
 * backtracking. A linear scan; the patterns real tokenizers use have no such group.
 */
export function hostilePattern(src: string): string | undefined {
  if (src.length > MAX_PATTERN_CHARS) return `it is ${src.length} characters long (at most ${MAX_PATTERN_CHARS})`;
  // one entry per open group: whether a quantifier occurs inside it
  const groups: boolean[] = [];
  let inClass = false;
  let lastClosed = false; // the previous atom was a group holding a quantifier
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') { i++; lastClosed = false; continue; }
    if (inClass) { if (c === ']') inClass = false; continue; }
    if (c === '[') { inClass = true; lastClosed = false; continue; }
    if (c === '(') { groups.push(false); lastClosed = false; continue; }
    if (c === ')') {
      const quantified = groups.pop() ?? false;
      if (quantified && groups.length) groups[groups.length - 1] = true;
      lastClosed = quantified;
      continue;
    }
    let quantifier = c === '*' || c === '+' || (c === '?' && src[i - 1] !== '(');
    if (c === '{') {
      // {n} repeats exactly: it adds no ambiguity ((\d{3})+ is fine); {n,} and {n,m} do
      const end = src.indexOf('}', i);
      if (end > i && /^\{\d+,\d*\}$/.test(src.slice(i, end + 1))) quantifier = true;
      if (end > i) i = end;
    }
    if (quantifier) {
      if (lastClosed && c !== '?') return `a quantified group holds a quantifier at character ${i}`;
      if (groups.length) groups[groups.length - 1] = true;
    }
    lastClosed = false;
  }
  return undefined;
}

export function compileSplitRegex(src: string): RegExp {
  const hostile = hostilePattern(src);
  if (hostile) throw new HearthError('tokenizer_invalid', `pre-tokenizer regex refused: ${hostile}: ${src.slice(0, 200)}`);
  try {
    return new RegExp(rewriteWhitespace(src), 'gu');
  } catch (e) {
    throw new HearthError('tokenizer_invalid', `pre-tokenizer regex does not compile: ${src}: ${(e as Error).message}`);
  }
}

/** Appends to `out` the matches of `re` in `s` and the non-empty gaps between them, in order. */
export function splitIsolated(s: string, re: RegExp, out: string[]): void {
  re.lastIndex = 0;
  let prev = 0;
  for (;;) {
    const m = re.exec(s);
    if (m === null) break;
    const start = m.index;
    const len = m[0].length;
    if (start > prev) out.push(s.slice(prev, start));
    if (len > 0) {
      out.push(m[0]);
      prev = start + len;
    } else {
      // A zero-width match only marks a split point; step over one code point.
      prev = start;
      const c = s.charCodeAt(start);
      re.lastIndex = start + (c >= 0xd800 && c < 0xdc00 ? 2 : 1);
      if (start >= s.length) break;
    }
  }
  if (prev < s.length) out.push(prev === 0 ? s : s.slice(prev));
}

/** Applies a regex list to `text`. */
export function regexSplit(text: string, regexes: RegExp[]): string[] {
  let pieces = [text];
  for (const re of regexes) {
    const next: string[] = [];
    for (const p of pieces) splitIsolated(p, re, next);
    pieces = next;
  }
  return pieces;
}
