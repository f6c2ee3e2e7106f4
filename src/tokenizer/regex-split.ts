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

export function compileSplitRegex(src: string): RegExp {
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
