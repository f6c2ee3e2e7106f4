// Opens a tokenizer from a file: a GGUF model or vocabulary (metadata only; recognised by its magic,
// so extension-less blobs work) or a Hugging Face tokenizer.json (with tokenizer_config.json beside
// it when present).
import { openSync, readSync, closeSync } from 'node:fs';
import { HearthError } from '../util/errors.ts';
import type { Tokenizer } from './types.ts';
import { readGGUFMetadata } from './gguf-metadata.ts';
import { tokenizerFromGGUF } from './from-gguf.ts';
import { loadHFTokenizer } from './hf/load-hf.ts';

function isGGUF(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new HearthError('not_found', `cannot open ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const b = new Uint8Array(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b[0] === 0x47 && b[1] === 0x47 && b[2] === 0x55 && b[3] === 0x46;
  } finally {
    closeSync(fd);
  }
}

export function loadTokenizer(path: string): Tokenizer {
  if (isGGUF(path)) return tokenizerFromGGUF(readGGUFMetadata(path));
  if (path.toLowerCase().endsWith('.json')) return loadHFTokenizer(path);
  throw new HearthError('invalid_argument', `${path} is neither a GGUF file nor a tokenizer.json`);
}
