// decode(encode(text)) == text over war-and-peace.txt for the tokenizer.json tokenizers:
// the full 3.2 MB for llama3, a 300 KB slice for the others (keeps the file fast).
import { test } from 'node:test';
import { sharedPath } from './shared.ts';
import { checkRoundTrip, warAndPeace, slice300k } from './tokenizer-roundtrip.ts';

test('llama3 tokenizer.json: war-and-peace (full text) round-trips', () => {
  checkRoundTrip(sharedPath('tokenizers', 'llama3', 'tokenizer.json'), warAndPeace());
});

for (const name of ['qwen3', 'gemma3', 'deepseek_v3', 'mistral-7b-v0.1']) {
  test(`${name} tokenizer.json: war-and-peace (300 KB slice) round-trips`, () => {
    checkRoundTrip(sharedPath('tokenizers', name, 'tokenizer.json'), slice300k());
  });
}
