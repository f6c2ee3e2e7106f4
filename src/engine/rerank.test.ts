// rerankInput: llama-server's format_prompt_rerank for each kind of vocabulary, and the file's rerank template.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GGUFMetadata } from '../gguf/index.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { rerankInput } from './rerank.ts';

/** A vocabulary of single letters (ids 10 + a..z), with the special ids and flags given. */
function letters(o: Partial<Pick<Tokenizer, 'bosId' | 'eosId' | 'addBos' | 'addEos' | 'sepId' | 'addSep'>>): Tokenizer {
  const calls: unknown[] = [];
  return {
    bosId: -1, eosId: -1, addBos: false, addEos: false, ...o,
    encode: (text: string, opts?: { addBos?: boolean; addEos?: boolean; parseSpecial?: boolean }) => {
      calls.push(opts);
      assert.equal(opts?.addBos, false, 'query and document are tokenized without BOS');
      assert.equal(opts?.addEos, false, 'and without EOS');
      return [...text].map((c) => (c === '|' ? 99 : 10 + c.charCodeAt(0) - 97));
    },
  } as unknown as Tokenizer;
}

const md = new GGUFMetadata();

test('BERT (BOS = [CLS], no EOS, add_sep): [CLS] query [SEP] document', () => {
  const tok = letters({ bosId: 101, addBos: true, sepId: 102, addSep: true });
  assert.deepEqual(rerankInput({ tokenizer: tok, metadata: md }, 'ab', 'c'), [101, 10, 11, 102, 12]);
});

test('BOS/EOS vocabulary (XLM-R style, add_eos and add_sep): <s> query </s> </s> document </s>', () => {
  const tok = letters({ bosId: 0, addBos: true, eosId: 2, addEos: true, sepId: 2, addSep: true });
  assert.deepEqual(rerankInput({ tokenizer: tok, metadata: md }, 'a', 'b'), [0, 10, 2, 2, 11, 2]);
});

test('no EOS in the vocabulary: the separator stands in for it', () => {
  const tok = letters({ addEos: true, sepId: 7 });
  assert.deepEqual(rerankInput({ tokenizer: tok, metadata: md }, 'a', 'b'), [10, 7, 11, 7]);
});

test('tokenizer.chat_template.rerank: {query} and {document} substituted, control text parsed, nothing added', () => {
  const tok = letters({ bosId: 101, addBos: true, sepId: 102, addSep: true });
  let parse: boolean | undefined;
  const encode = tok.encode;
  (tok as { encode: Tokenizer['encode'] }).encode = (text, opts) => {
    parse = opts?.parseSpecial;
    return encode(text, opts);
  };
  const withTemplate = new GGUFMetadata().string('tokenizer.chat_template.rerank', 'q{query}|d{document}');
  assert.deepEqual(rerankInput({ tokenizer: tok, metadata: withTemplate }, 'a', 'b'), [26, 10, 99, 13, 11]);
  assert.equal(parse, true);
});
