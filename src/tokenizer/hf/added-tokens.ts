// Added tokens of tokenizer.json, found in the input before the model runs, the way HF tokenizers'
// AddedVocabulary does it:
// - Every added token is matched, special or not; `add_special_tokens` (our addBos/addEos) only
//   controls the post-processor. With `split_special_tokens` (tokenizer_config.json) special tokens
//   are left to the model as ordinary text; non-special ones are still matched.
// - Tokens with `normalized: false` are matched in the raw text first. Each text piece between them
//   is then normalized and searched for the `normalized: true` tokens, whose content was normalized
//   the same way.
// - Matching is leftmost-longest over all tokens, non-overlapping. A match that is then rejected
//   (single_word not satisfied, or a special token under split_special_tokens) still consumes its
//   span: the scan resumes after it, so no shorter token inside it is tried.
// - single_word: the characters just before and after must not be word characters (regex \w:
//   letters, marks, decimal digits, connector punctuation, joiners). lstrip / rstrip: the match
//   takes in the whitespace before / after it (never text an earlier match already took).

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
  /** Matched in normalized text (HF's default for non-special tokens) rather than raw text. */
  normalized: boolean;
}

/** A text segment (string) or a matched added token (its id). */
export type Segment = string | number;

interface Node { next: Map<number, Node>; token: AddedToken | null }

// Unicode White_Space and the Unicode \w of the Rust regex crate (UTS #18 word characters).
const WS = /\p{White_Space}/u;
const WORD = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;

class Trie {
  private readonly root: Node = { next: new Map(), token: null };
  /** 1 for each UTF-16 unit some token starts with: most positions are ruled out without a Map lookup. */
  private readonly starts = new Uint8Array(65536);
  size = 0;

  add(content: string, t: AddedToken): void {
    if (!content) return;
    this.starts[content.charCodeAt(0)] = 1;
    let n = this.root;
    for (let i = 0; i < content.length; i++) {
      const c = content.charCodeAt(i);
      let m = n.next.get(c);
      if (!m) { m = { next: new Map(), token: null }; n.next.set(c, m); }
      n = m;
    }
    if (n.token === null) { n.token = t; this.size++; } // the first token listed wins a duplicate
  }

  /** The longest token starting at `i`, with its end, or null. */
  longestAt(text: string, i: number): { token: AddedToken; end: number } | null {
    if (this.starts[text.charCodeAt(i)] === 0) return null;
    let n: Node | undefined = this.root;
    let best: AddedToken | null = null;
    let end = i;
    for (let j = i; j < text.length; j++) {
      n = n.next.get(text.charCodeAt(j));
      if (!n) break;
      if (n.token) { best = n.token; end = j + 1; }
    }
    return best ? { token: best, end } : null;
  }
}

/** The code point ending just before `i` / starting at `i`, as a string. */
function charBefore(s: string, i: number): string {
  const c = s.charCodeAt(i - 1);
  return c >= 0xdc00 && c <= 0xdfff && i >= 2 ? s.slice(i - 2, i) : s[i - 1];
}
function charAt(s: string, i: number): string {
  return String.fromCodePoint(s.codePointAt(i)!);
}

export class AddedTokenMatcher {
  private readonly raw = new Trie();
  private readonly norm = new Trie();

  /** `normalize` is the tokenizer's normalizer, applied to the content of normalized tokens. */
  constructor(tokens: AddedToken[], normalize?: (s: string) => string) {
    for (const t of tokens) {
      if (t.normalized) this.norm.add(normalize ? normalize(t.content) : t.content, t);
      else this.raw.add(t.content, t);
    }
  }

  /** Splits raw text on the non-normalized tokens. */
  splitRaw(text: string, matchSpecial: boolean): Segment[] {
    return split(this.raw, text, matchSpecial);
  }

  /** Splits one normalized piece on the normalized tokens. */
  splitNormalized(text: string, matchSpecial: boolean): Segment[] {
    return split(this.norm, text, matchSpecial);
  }
}

function split(trie: Trie, text: string, matchSpecial: boolean): Segment[] {
  if (trie.size === 0 || text.length === 0) return text ? [text] : [];
  const out: Segment[] = [];
  let taken = 0; // end of the previous accepted match: text before it is already placed
  let i = 0;
  while (i < text.length) {
    const m = trie.longestAt(text, i);
    if (!m) { i++; continue; }
    const t = m.token;
    let start = i, end = m.end;
    i = m.end;
    if (t.special && !matchSpecial) continue;
    if (t.singleWord && ((start > 0 && WORD.test(charBefore(text, start))) || (end < text.length && WORD.test(charAt(text, end))))) continue;
    if (t.lstrip) while (start > taken && WS.test(charBefore(text, start))) start -= charBefore(text, start).length;
    if (t.rstrip) while (end < text.length && WS.test(charAt(text, end))) end += charAt(text, end).length;
    if (start > taken) out.push(text.slice(taken, start));
    out.push(t.id);
    taken = i = end;
  }
  if (taken < text.length) out.push(taken === 0 ? text : text.slice(taken));
  return out;
}
