// Compiles the regexes of tokenizer.json (Rust fancy-regex / Oniguruma syntax) to JS regexes:
// possessive quantifiers become greedy ones (as llama.cpp does), `\s` becomes Unicode White_Space.
import { HearthError } from '../../util/errors.ts';
import { hostilePattern, rewriteWhitespace } from '../regex-split.ts';

/** Drops the possessive `+` after a quantifier (`?+`, `++`, `*+`, `{n,m}+`) outside character classes. */
function dropPossessive(src: string): string {
  let out = '';
  let inClass = false;
  let afterQuantifier = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      // Copy escapes whole, including \p{..} / \P{..} and \u{..}, whose brace is not a quantifier.
      let j = i + 2;
      if ('pPu'.includes(src[i + 1]) && src[j] === '{') j = src.indexOf('}', j) + 1 || src.length;
      out += src.slice(i, j);
      i = j - 1;
      afterQuantifier = false;
      continue;
    }
    if (inClass) { if (c === ']') inClass = false; out += c; continue; }
    if (c === '[') { inClass = true; out += c; afterQuantifier = false; continue; }
    if (c === '+' && afterQuantifier) { afterQuantifier = false; continue; }
    afterQuantifier = c === '?' || c === '+' || c === '*' || (c === '}' && /\{\d+(,\d*)?\}$/.test(out + c));
    out += c;
  }
  return out;
}

export function compileHFRegex(src: string): RegExp {
  const hostile = hostilePattern(src);
  if (hostile) throw new HearthError('tokenizer_invalid', `tokenizer.json regex refused: ${hostile}: ${src.slice(0, 200)}`);
  try {
    return new RegExp(rewriteWhitespace(dropPossessive(src)), 'gu');
  } catch (e) {
    throw new HearthError('tokenizer_invalid', `tokenizer.json regex does not compile in JS: ${src}: ${(e as Error).message}`);
  }
}
