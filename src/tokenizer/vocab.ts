// A GGUF-style vocabulary: token texts, scores, attributes, special ids and tokenizer flags
// (the data half of llama.cpp's `llama_vocab`). Model-specific encoders read from it.
import { HearthError } from '../util/errors.ts';
import { TokenAttr } from './types.ts';
import { SpecialTokenSplitter, type SpecialToken } from './special-tokens.ts';
import { byteLevelDecodeToken } from './byte-level.ts';

export type VocabKind = 'spm' | 'bpe' | 'wpm';

export interface VocabInit {
  kind: VocabKind;
  tokens: string[];
  scores?: ArrayLike<number>;
  /** Attribute bits per token (TokenAttr). */
  attrs: Uint16Array;
  /** tokenizer.ggml.pre (BPE only). */
  pre?: string;
  merges?: string[];
  special: SpecialIds;
  eog: Set<number>;
  flags: VocabFlags;
  chatTemplate?: string;
}

export interface SpecialIds {
  bos: number; eos: number; eot: number; eom: number; unk: number; sep: number; pad: number; mask: number;
  fimPre: number; fimSuf: number; fimMid: number; fimPad: number; fimRep: number; fimSep: number;
}

export interface VocabFlags {
  addSpacePrefix: boolean;
  addBos: boolean;
  addEos: boolean;
  /** Put the separator between two texts of one input (llama.cpp add_sep: a reranker's query and document). */
  addSep?: boolean;
  ignoreMerges: boolean;
  cleanSpaces: boolean;
  removeExtraWhitespaces: boolean;
  /** BPE over raw UTF-8 with ▁ for spaces and <0xXX> byte tokens (Gemma 4) instead of the byte alphabet. */
  escapeWhitespaces: boolean;
  /** WordPiece normalizer options. */
  lowercase: boolean;
  stripAccents: boolean;
}

const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);

export class Vocab {
  readonly kind: VocabKind;
  readonly tokens: string[];
  readonly scores: Float32Array;
  readonly attrs: Uint16Array;
  readonly pre: string;
  readonly merges: string[];
  readonly special: SpecialIds;
  readonly eog: Set<number>;
  readonly flags: VocabFlags;
  readonly chatTemplate: string | undefined;
  readonly tokenToId: Map<string, number>;
  readonly splitter: SpecialTokenSplitter;
  /** Longest token text in UTF-16 units (WPM longest-match bound). */
  readonly maxTokenLen: number;
  /** token_to_piece(id, special=true) as bytes, per id. */
  private readonly pieces: Uint8Array[];
  private readonly byteTokens = new Int32Array(256).fill(-1);

  constructor(init: VocabInit) {
    const n = init.tokens.length;
    if (n === 0) throw new HearthError('tokenizer_invalid', 'the vocabulary has no tokens');
    if (init.attrs.length !== n) {
      throw new HearthError('tokenizer_invalid', `token types hold ${init.attrs.length} entries for ${n} tokens`);
    }
    if (init.scores && init.scores.length !== n) {
      throw new HearthError('tokenizer_invalid', `scores hold ${init.scores.length} entries for ${n} tokens`);
    }
    this.kind = init.kind;
    this.tokens = init.tokens;
    this.scores = init.scores instanceof Float32Array ? init.scores : Float32Array.from(init.scores ?? new Float32Array(n));
    this.attrs = init.attrs;
    this.pre = init.pre ?? 'default';
    this.merges = init.merges ?? [];
    this.special = init.special;
    this.eog = init.eog;
    this.flags = init.flags;
    this.chatTemplate = init.chatTemplate;
    this.tokenToId = new Map();
    let maxLen = 0;
    for (let i = 0; i < n; i++) {
      let t = init.tokens[i];
      if (t.length === 0) { t = `[EMPTY_${i}]`; init.tokens[i] = t; }
      this.tokenToId.set(t, i);
      if (t.length > maxLen) maxLen = t.length;
    }
    this.maxTokenLen = maxLen;

    const specials: SpecialToken[] = [];
    for (let i = 0; i < n; i++) {
      const a = this.attrs[i];
      if (a & (TokenAttr.CONTROL | TokenAttr.USER_DEFINED | TokenAttr.UNKNOWN)) {
        specials.push({ id: i, text: this.tokens[i], attr: a });
      }
    }
    this.splitter = new SpecialTokenSplitter(specials);

    this.pieces = new Array(n);
    for (let i = 0; i < n; i++) this.pieces[i] = this.computePiece(i);

    if (this.kind === 'spm' || this.flags.escapeWhitespaces) {
      for (let b = 0; b < 256; b++) {
        const hex = '<0x' + b.toString(16).toUpperCase().padStart(2, '0') + '>';
        let id = this.tokenToId.get(hex);
        // llama.cpp falls back to a token made of the raw byte itself.
        if (id === undefined && b < 128) id = this.tokenToId.get(String.fromCharCode(b));
        this.byteTokens[b] = id ?? -1;
      }
    }
  }

  get size(): number { return this.tokens.length; }

  /** Control or unknown: the tokens whose piece is hidden unless special output is asked for. */
  isControl(id: number): boolean { return (this.attrs[id] & (TokenAttr.CONTROL | TokenAttr.UNKNOWN)) !== 0; }

  /** Token for one raw byte (SPM byte fallback), or -1. */
  byteToToken(b: number): number { return this.byteTokens[b]; }

  /** Piece bytes of a token; with special=false control and unknown tokens give nothing. */
  piece(id: number, special: boolean): Uint8Array {
    const p = this.pieces[id];
    if (p === undefined) return EMPTY;
    if (!special && (this.attrs[id] & (TokenAttr.UNKNOWN | TokenAttr.CONTROL))) return EMPTY;
    return p;
  }

  private computePiece(id: number): Uint8Array {
    const a = this.attrs[id];
    const text = this.tokens[id];
    if (a & (TokenAttr.UNKNOWN | TokenAttr.CONTROL | TokenAttr.USER_DEFINED)) return utf8.encode(text);
    if (this.kind === 'bpe' && !this.flags.escapeWhitespaces) {
      if (a & TokenAttr.NORMAL) return byteLevelDecodeToken(text);
      return EMPTY;
    }
    if (a & TokenAttr.NORMAL) return utf8.encode(text.replaceAll('\u2581', ' '));
    if (a & TokenAttr.BYTE) {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
      if (!m) throw new HearthError('tokenizer_invalid', `byte token ${id} has text "${text}", expected <0xXX>`);
      return Uint8Array.of(parseInt(m[1], 16));
    }
    return EMPTY;
  }
}
