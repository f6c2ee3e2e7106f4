// decode(encode(text)) == text over war-and-peace.txt for the lossless GGUF vocabularies:
// the full 3.2 MB for llama-spm and gpt-2, a 300 KB slice for the others (keeps the file fast).
import { test } from 'node:test';
import { sharedPath } from './shared.ts';
import { checkRoundTrip, warAndPeace, slice300k } from './tokenizer-roundtrip.ts';

for (const name of ['llama-spm', 'gpt-2']) {
  test(`${name}: war-and-peace (full text) round-trips`, () => {
    checkRoundTrip(sharedPath('vocab', `ggml-vocab-${name}.gguf`), warAndPeace());
  });
}

for (const name of ['phi-3', 'baichuan', 'falcon', 'starcoder', 'refact', 'mpt', 'gpt-neox', 'deepseek-coder', 'deepseek-llm']) {
  test(`${name}: war-and-peace (300 KB slice) round-trips`, () => {
    checkRoundTrip(sharedPath('vocab', `ggml-vocab-${name}.gguf`), slice300k());
  });
}
