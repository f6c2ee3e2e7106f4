// Byte-level BPE and WordPiece vocabularies from GGUF against llama.cpp's test vectors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedPath } from './shared.ts';
import { readVectors } from './tokenizer-vectors.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import { isHearthError } from '../src/util/errors.ts';
import { tokenizerFromGGUF } from '../src/tokenizer/from-gguf.ts';
import { readGGUFMetadata } from '../src/tokenizer/gguf-metadata.ts';

const BPE = ['gpt-2', 'falcon', 'starcoder', 'refact', 'mpt', 'deepseek-coder', 'deepseek-llm'];

for (const name of [...BPE, 'bert-bge']) {
  test(`${name}: every llama.cpp test vector encodes to the expected ids`, () => {
    const file = sharedPath('vocab', `ggml-vocab-${name}.gguf`);
    const tok = loadTokenizer(file);
    const cases = readVectors(file + '.inp', file + '.out');
    assert.equal(cases.length, 46);
    const failures: string[] = [];
    for (const c of cases) {
      const got = tok.encode(c.text, { addBos: false, addEos: false });
      if (got.join(' ') !== c.ids.join(' ')) failures.push(`${JSON.stringify(c.text)}: ${got} != ${c.ids}`);
      // Byte-level BPE is lossless once the gpt-2 style space clean-up is off; WordPiece is not.
      if (name !== 'bert-bge') {
        const back = tok.decode(c.ids, { skipSpecial: false, cleanSpaces: false });
        if (back !== c.text) failures.push(`decode ${JSON.stringify(c.text)} -> ${JSON.stringify(back)}`);
      }
    }
    assert.deepEqual(failures, []);
  });
}

test('gpt-2: decode applies the vocabulary clean-up of spaces before punctuation by default', () => {
  const tok = loadTokenizer(sharedPath('vocab', 'ggml-vocab-gpt-2.gguf'));
  const ids = tok.encode("Hello , world ! It 's ok .");
  assert.equal(tok.decode(ids), "Hello, world! It's ok.");
  assert.equal(tok.decode(ids, { cleanSpaces: false }), "Hello , world ! It 's ok .");
  assert.equal(tok.isEog(tok.tokenId('<|endoftext|>')), true);
  assert.equal(tok.addBos, false);
});

test('bert-bge: [CLS] … [SEP] are added with the special tokens and skipped on decode', () => {
  const tok = loadTokenizer(sharedPath('vocab', 'ggml-vocab-bert-bge.gguf'));
  const ids = tok.encode('Hello world');
  assert.deepEqual(ids, [101, 7592, 2088, 102]);
  // llama.cpp keeps the word-start space of the first piece for WordPiece (no add_space_prefix).
  assert.equal(tok.decode(ids), ' hello world');
  assert.deepEqual(tok.encode('Hello world', { addBos: false }), [7592, 2088]);
});

test('a BPE vocabulary with an unknown pre-tokenizer is refused with tokenizer_invalid', () => {
  const md = readGGUFMetadata(sharedPath('vocab', 'ggml-vocab-gpt-2.gguf'));
  md.set('tokenizer.ggml.pre', { type: 8, value: 'no-such-pre' });
  assert.throws(() => tokenizerFromGGUF(md), (e) => isHearthError(e, 'tokenizer_invalid') && /no-such-pre/.test(e.message));
  md.set('tokenizer.ggml.pre', { type: 8, value: 'gpt-2' });
  md.delete('tokenizer.ggml.merges');
  assert.throws(() => tokenizerFromGGUF(md), (e) => isHearthError(e, 'tokenizer_invalid') && /merges/.test(e.message));
  md.delete('tokenizer.ggml.tokens');
  assert.throws(() => tokenizerFromGGUF(md), (e) => isHearthError(e, 'tokenizer_invalid'));
});
