// The public tokenizer contract shared by every vocabulary kind (SPM, BPE, WPM, tokenizer.json).

export interface EncodeOptions {
  /** Prepend BOS. Default: the vocabulary's add_bos flag. */
  addBos?: boolean;
  /** Append EOS. Default: the vocabulary's add_eos flag. */
  addEos?: boolean;
  /**
   * Parse control-token text such as `<s>` or `<|im_end|>` into its id. Default false.
   * GGUF vocabularies follow llama.cpp's parse_special: without it that text stays text. tokenizer.json
   * follows HF tokenizers, which matches every added token regardless, unless tokenizer_config.json
   * sets split_special_tokens; there `true` matches the special tokens anyway (chat prompts need them).
   */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Drop control/unknown tokens (and a leading BOS / trailing EOS). Default true. */
  skipSpecial?: boolean;
  /** Apply the vocabulary's clean-up of spaces before punctuation (gpt-2 style). Default: the vocabulary's flag. */
  cleanSpaces?: boolean;
}

export interface StreamDecoder {
  /** Adds one token; returns the text that is complete so far (never half a UTF-8 character). */
  push(id: number): string;
  /** Returns whatever is still buffered (an incomplete byte sequence becomes U+FFFD). */
  flush(): string;
}

export interface StreamDecoderOptions {
  /** Hide control/unknown tokens. Default true. */
  skipSpecial?: boolean;
}

export interface Tokenizer {
  readonly vocabSize: number;
  /** -1 when the vocabulary has none. */
  readonly bosId: number;
  /** -1 when the vocabulary has none. */
  readonly eosId: number;
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** The separator token ([SEP]), -1 or absent when the vocabulary has none. */
  readonly sepId?: number;
  /** The separator goes between two texts of one input (llama.cpp add_sep: BERT's query [SEP] document). */
  readonly addSep?: boolean;
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string;
  /** The text of one token as it appears in output (control tokens shown verbatim). */
  tokenToPiece(id: number): string;
  /**
   * The bytes one token adds to generated text, as the stream decoder sees them: a byte-fallback or
   * byte-level token may be part of a UTF-8 character (control tokens: their text).
   */
  tokenBytes(id: number): Uint8Array;
  createStreamDecoder(opts?: StreamDecoderOptions): StreamDecoder;
  /** True for EOS, EOT, EOM and other end-of-generation tokens. */
  isEog(id: number): boolean;
  /** Id of a token by its exact text, or -1. */
  tokenId(text: string): number;
  /** True for control/special tokens (the ones skipSpecial hides). */
  isControl(id: number): boolean;
  /** The Jinja chat template shipped with the vocabulary (GGUF tokenizer.chat_template or tokenizer_config.json). */
  readonly chatTemplate: string | undefined;
}

/** GGUF token types (llama.h `llama_token_type`). */
export const TokenType = {
  UNDEFINED: 0, NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6,
} as const;

/** Token attribute bits (llama.h `llama_token_attr`). */
export const TokenAttr = {
  UNDEFINED: 0,
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
  NORMALIZED: 1 << 6,
  LSTRIP: 1 << 7,
  RSTRIP: 1 << 8,
  SINGLE_WORD: 1 << 9,
} as const;

export function attrFromType(type: number): number {
  switch (type) {
    case TokenType.NORMAL: return TokenAttr.NORMAL;
    case TokenType.UNKNOWN: return TokenAttr.UNKNOWN;
    case TokenType.CONTROL: return TokenAttr.CONTROL;
    case TokenType.USER_DEFINED: return TokenAttr.USER_DEFINED;
    case TokenType.UNUSED: return TokenAttr.UNUSED;
    case TokenType.BYTE: return TokenAttr.BYTE;
    default: return TokenAttr.UNDEFINED;
  }
}
