// tokenizer.json "WordPiece" model (BERT-style embedders): greedy longest-match-first per word,
// continuation pieces carry a prefix ("##"); a word that cannot be covered becomes the unknown token.
import { HearthError } from '../../util/errors.ts';

export class WordPieceModel {
  private readonly vocab: Map<string, number>;
  private readonly unkId: number;
  private readonly prefix: string;
  private readonly maxChars: number;

  constructor(vocab: Map<string, number>, unkId: number | undefined, prefix: string, maxChars: number) {
    if (unkId === undefined) throw new HearthError('tokenizer_invalid', 'tokenizer.json: WordPiece model needs an unk_token in its vocab');
    this.vocab = vocab;
    this.unkId = unkId;
    this.prefix = prefix;
    this.maxChars = maxChars;
  }

  encodeWord(word: string, out: number[]): void {
    const chars = Array.from(word);
    if (chars.length > this.maxChars) { out.push(this.unkId); return; }
    const mark = out.length;
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let id: number | undefined;
      while (start < end) {
        const sub = (start > 0 ? this.prefix : '') + chars.slice(start, end).join('');
        id = this.vocab.get(sub);
        if (id !== undefined) break;
        end--;
      }
      if (id === undefined) { out.length = mark; out.push(this.unkId); return; }
      out.push(id);
      start = end;
    }
  }
}
