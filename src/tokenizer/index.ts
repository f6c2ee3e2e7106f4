// Tokenizers: GGUF vocabularies (SPM, BPE, WPM) and Hugging Face tokenizer.json.
export type {
  Tokenizer, EncodeOptions, DecodeOptions, StreamDecoder, StreamDecoderOptions,
} from './types.ts';
export { TokenType, TokenAttr } from './types.ts';
export { tokenizerFromGGUF, vocabFromGGUF } from './from-gguf.ts';
export { loadTokenizer } from './load.ts';
export { GGMLTokenizer } from './ggml-tokenizer.ts';
export { HFTokenizer } from './hf/hf-tokenizer.ts';
export { tokenizerFromHFJson, loadHFTokenizer } from './hf/load-hf.ts';
