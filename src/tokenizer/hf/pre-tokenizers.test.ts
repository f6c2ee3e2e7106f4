import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitWith, buildPreTokenizer } from './pre-tokenizers.ts';
import { compileHFRegex } from './hf-regex.ts';

const split = (s: string, b: Parameters<typeof splitWith>[2], invert = false) => {
  const out: string[] = [];
  splitWith(s, / /gu, b, invert, out);
  return out;
};

test('Split behaviors match HF SplitDelimiterBehavior (docs example "the-final--countdown")', () => {
  const dash = (b: Parameters<typeof splitWith>[2]) => {
    const out: string[] = [];
    splitWith('the-final--countdown', /-/gu, b, false, out);
    return out;
  };
  assert.deepEqual(dash('Removed'), ['the', 'final', 'countdown']);
  assert.deepEqual(dash('Isolated'), ['the', '-', 'final', '-', '-', 'countdown']);
  assert.deepEqual(dash('MergedWithPrevious'), ['the-', 'final-', '-', 'countdown']);
  assert.deepEqual(dash('MergedWithNext'), ['the', '-final', '-', '-countdown']);
  assert.deepEqual(dash('Contiguous'), ['the', '-', 'final', '--', 'countdown']);
  assert.deepEqual(split('a b  c', 'Isolated'), ['a', ' ', 'b', ' ', ' ', 'c']);
  assert.deepEqual(split('a b  c', 'Removed'), ['a', 'b', 'c']);
  assert.deepEqual(split('a b  c', 'MergedWithPrevious'), ['a ', 'b ', ' ', 'c']);
  assert.deepEqual(split('a b  c', 'MergedWithNext'), ['a', ' b', ' ', ' c']);
  assert.deepEqual(split('a b  c', 'Contiguous'), ['a', ' ', 'b', '  ', 'c']);
  assert.deepEqual(split('a b', 'Removed', true), [' ']);
});

test('Metaspace replaces spaces, prepends ▁ and splits before each ▁', () => {
  const pre = buildPreTokenizer({ type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true });
  assert.deepEqual(pre.split('Hey friend', true), ['▁Hey', '▁friend']);
  assert.equal(pre.byteLevel, false);
});

test('a final ByteLevel step is left to the caller; GPT-2 regex splitting still applies', () => {
  const pre = buildPreTokenizer({ type: 'ByteLevel', add_prefix_space: true, use_regex: true });
  assert.equal(pre.byteLevel, true);
  assert.deepEqual(pre.split("Hi there's 42", true), [' Hi', ' there', "'s", ' 42']);
});

test('possessive quantifiers compile as greedy ones; \\p{..} braces are not quantifiers', () => {
  const re = compileHFRegex("[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}{1,3}+");
  assert.deepEqual('ab 1234'.match(re), ['ab', ' ', '123', '4'].filter((x) => x !== ' '));
});
