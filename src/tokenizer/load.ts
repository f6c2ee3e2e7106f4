// Opens a tokenizer from a file: a .gguf (metadata only) or a Hugging Face tokenizer.json
// (with tokenizer_config.json beside it when present).
import { HearthError } from '../util/errors.ts';
import type { Tokenizer } from './types.ts';
import { readGGUFMetadata } from './gguf-metadata.ts';
import { tokenizerFromGGUF } from './from-gguf.ts';
import { loadHFTokenizer } from './hf/load-hf.ts';

export function loadTokenizer(path: string): Tokenizer {
  if (path.toLowerCase().endsWith('.json')) return loadHFTokenizer(path);
  if (!path.toLowerCase().endsWith('.gguf')) {
    throw new HearthError('invalid_argument', `expected a .gguf or tokenizer.json path, got ${path}`);
  }
  return tokenizerFromGGUF(readGGUFMetadata(path));
}
