// Added tokens of tokenizer.json, matched in raw text the way HF tokenizers does: leftmost-longest,
// with lstrip/rstrip taking neighbouring whitespace into the match and single_word requiring word
// boundaries. Special tokens are matched only when special-token parsing is on.

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
}

/** A text segment (string) or a matched added token (its id). */
export type Segment = string | number;

interface Node { next: Map<number, Node>; token: AddedToken | null }

const WS = /\s/u;
const WORD = /[\p{L}\p{N}_]/u;

export class AddedTokenMatcher {
  private readonly root: Node = { next: new Map(), token: null };
  private readonly any: boolean;
  private readonly anyNonSpecial: boolean;

  constructor(tokens: AddedToken[]) {
    for (const t of tokens) {
      if (!t.content) continue;
      let n = this.root;
      for (let i = 0; i < t.content.length; i++) {
        const c = t.content.charCodeAt(i);
        let m = n.next.get(c);
        if (!m) { m = { next: new Map(), token: null }; n.next.set(c, m); }
        n = m;
      }
      n.token ??= t;
    }
    this.any = tokens.length > 0;
    this.anyNonSpecial = tokens.some((t) => !t.special);
  }

  split(text: string, parseSpecial: boolean): Segment[] {
    if (!this.any || (!parseSpecial && !this.anyNonSpecial) || text.length === 0) return text ? [text] : [];
    const out: Segment[] = [];
    let textStart = 0;
    let i = 0;
    while (i < text.length) {
      const m = this.longestAt(text, i, parseSpecial);
      if (!m) { i++; continue; }
      let start = i, end = i + m.content.length;
      if (m.lstrip) while (start > textStart && WS.test(text[start - 1])) start--;
      if (m.rstrip) while (end < text.length && WS.test(text[end])) end++;
      if (start > textStart) out.push(text.slice(textStart, start));
      out.push(m.id);
      textStart = i = end;
    }
    if (textStart < text.length) out.push(textStart === 0 ? text : text.slice(textStart));
    return out;
  }

  private longestAt(text: string, i: number, parseSpecial: boolean): AddedToken | null {
    let n: Node | undefined = this.root;
    let best: AddedToken | null = null;
    for (let j = i; j < text.length; j++) {
      n = n.next.get(text.charCodeAt(j));
      if (!n) break;
      const t = n.token;
      if (t && (parseSpecial || !t.special) && (!t.singleWord || this.isWord(text, i, j + 1))) best = t;
    }
    return best;
  }

  private isWord(text: string, a: number, b: number): boolean {
    return (a === 0 || !WORD.test(text[a - 1])) && (b >= text.length || !WORD.test(text[b]));
  }
}
