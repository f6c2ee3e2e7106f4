// Opens a tokenizer from a file: a .gguf (metadata only) or a Hugging Face tokenizer.json
// (with tokenizer_config.json beside it when present).
import { HearthError } from '../util/errors.ts';
import type { Tokenizer } from './types.ts';
import { readGGUFMetadata } from './gguf-metadata.ts';
import { tokenizerFromGGUF } from './from-gguf.ts';

export function loadTokenizer(path: string): Tokenizer {
  if (path.toLowerCase().endsWith('.json')) {
    throw new HearthError('tokenizer_invalid', `tokenizer.json is not supported yet: ${path}`);
  }
  return tokenizerFromGGUF(readGGUFMetadata(path));
}
