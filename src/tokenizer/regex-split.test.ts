import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSplitRegex, regexSplit, rewriteWhitespace, splitIsolated } from './regex-split.ts';

test('splitIsolated keeps matches and the gaps between them', () => {
  const out: string[] = [];
  splitIsolated('ab12cd3', /[0-9]+/gu, out);
  assert.deepEqual(out, ['ab', '12', 'cd', '3']);
});

test('a zero-width match only marks a split point', () => {
  const out: string[] = [];
  splitIsolated('1234567', /(?=(\d{3})+(?!\d))/gu, out);
  assert.deepEqual(out, ['1', '234', '567']);
});

test('regex lists apply in turn to every piece (falcon-style)', () => {
  const res = regexSplit("Hello, it's 2024!", ['[\\p{P}]+', "'s| ?\\p{L}+| ?\\p{N}+"].map(compileSplitRegex));
  assert.deepEqual(res, ['Hello', ',', ' it', "'", 's', ' 2024', '!']);
});

test('\\s means Unicode White_Space: U+0085 yes, U+FEFF no', () => {
  const re = new RegExp(rewriteWhitespace('\\s+'), 'u');
  assert.ok(re.test('\u0085'));
  assert.ok(!re.test('\ufeff'));
  const neg = new RegExp(rewriteWhitespace('^[^\\s]$'), 'u');
  assert.ok(neg.test('\ufeff') && !neg.test('\u0085'));
});
