// Splits raw text around special-token text before the model tokenizer runs
// (llama.cpp `tokenizer_st_partition`). Tokens are tried longest first; each one splits every text
// fragment left to right. User-defined tokens always split; control/unknown ones only with parseSpecial.
//
// To keep this linear on long inputs, a trie over all candidate texts first finds which tokens occur
// at all; the exact sequential algorithm then runs with just those (usually none).
import { TokenAttr } from './types.ts';

/** A fragment is raw text (string) or an already-resolved token id (number). */
export type Fragment = string | number;

interface TrieNode { next: Map<number, TrieNode>; text: string | null }

function newNode(): TrieNode { return { next: new Map(), text: null }; }

export interface SpecialToken { id: number; text: string; attr: number }

export class SpecialTokenSplitter {
  /** Tokens in matching priority: longest text first, ties by id. */
  private readonly ordered: SpecialToken[];
  private readonly trieAll: TrieNode;
  private readonly trieUser: TrieNode;
  private readonly hasUser: boolean;

  constructor(tokens: SpecialToken[]) {
    // Longest first by UTF-8 length, as llama.cpp orders by byte size.
    this.ordered = tokens.filter((t) => t.text.length > 0)
      .map((t) => ({ t, n: Buffer.byteLength(t.text) }))
      .sort((a, b) => b.n - a.n || a.t.id - b.t.id)
      .map((x) => x.t);
    this.trieAll = newNode();
    this.trieUser = newNode();
    let hasUser = false;
    for (const t of this.ordered) {
      insert(this.trieAll, t.text);
      if (!(t.attr & (TokenAttr.CONTROL | TokenAttr.UNKNOWN))) {
        insert(this.trieUser, t.text);
        hasUser = true;
      }
    }
    this.hasUser = hasUser;
  }

  get size(): number { return this.ordered.length; }

  split(text: string, parseSpecial: boolean): Fragment[] {
    if (text.length === 0) return [];
    if (!parseSpecial && !this.hasUser) return [text];
    const present = occurring(text, parseSpecial ? this.trieAll : this.trieUser);
    if (present.size === 0) return [text];
    let frags: Fragment[] = [text];
    for (const tok of this.ordered) {
      if (!present.has(tok.text)) continue;
      const out: Fragment[] = [];
      for (const f of frags) {
        if (typeof f === 'number') { out.push(f); continue; }
        splitOne(f, tok, out);
      }
      frags = out;
    }
    return frags;
  }
}

function insert(root: TrieNode, text: string): void {
  let node = root;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let n = node.next.get(c);
    if (!n) { n = newNode(); node.next.set(c, n); }
    node = n;
  }
  node.text = text;
}

/** Texts of every token that occurs somewhere in `text`. */
function occurring(text: string, root: TrieNode): Set<string> {
  const found = new Set<string>();
  const first = root.next;
  for (let i = 0; i < text.length; i++) {
    let node = first.get(text.charCodeAt(i));
    let j = i + 1;
    while (node) {
      if (node.text !== null) found.add(node.text);
      if (j >= text.length) break;
      node = node.next.get(text.charCodeAt(j++));
    }
  }
  return found;
}

function isCSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function splitOne(s: string, tok: SpecialToken, out: Fragment[]): void {
  const t = tok.text;
  let pos = 0;
  for (;;) {
    const m = s.indexOf(t, pos);
    if (m < 0) break;
    let leftEnd = m;
    if (tok.attr & TokenAttr.LSTRIP) while (leftEnd > pos && isCSpace(s.charCodeAt(leftEnd - 1))) leftEnd--;
    if (leftEnd > pos) out.push(s.slice(pos, leftEnd));
    out.push(tok.id);
    pos = m + t.length;
    if (tok.attr & TokenAttr.RSTRIP) while (pos < s.length && isCSpace(s.charCodeAt(pos))) pos++;
  }
  if (pos < s.length) out.push(pos === 0 ? s : s.slice(pos));
}
