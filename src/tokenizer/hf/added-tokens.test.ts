import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddedTokenMatcher, type AddedToken } from './added-tokens.ts';

function tok(id: number, content: string, o: Partial<AddedToken> = {}): AddedToken {
  return { id, content, special: false, lstrip: false, rstrip: false, singleWord: false, normalized: false, ...o };
}

test('added tokens: leftmost-longest, special and non-special alike; split_special_tokens leaves specials as text', () => {
  const m = new AddedTokenMatcher([tok(1, '<s>', { special: true }), tok(2, '<s>x'), tok(3, 'ab')]);
  assert.deepEqual(m.splitRaw('a<s>x<s>ab', true), ['a', 2, 1, 3]);
  // Rejected matches keep their span: "<s>" is not re-scanned for a shorter token.
  assert.deepEqual(m.splitRaw('a<s>ab', false), ['a<s>', 3]);
  assert.deepEqual(m.splitRaw('', true), []);
});

test('added tokens: single_word needs non-word characters (Unicode \\w) on both sides', () => {
  const m = new AddedTokenMatcher([tok(7, '[X]', { singleWord: true }), tok(8, 'X]')]);
  assert.deepEqual(m.splitRaw('[X] a [X]. ([X])-[X]', true), [7, ' a ', 7, '. (', 7, ')-', 7]);
  // A letter, a combining mark, a digit or _ next to it is a word character; the rejected "[X]" is
  // consumed whole, so "X]" inside it is not tried either.
  for (const s of ['b[X]', '[X]c', 'ü[X]', 'e\u0301[X]', '1[X]', '_[X]', '[X]\u200d']) assert.deepEqual(m.splitRaw(s, true), [s]);
});

test('added tokens: lstrip/rstrip take in Unicode whitespace, never an earlier match', () => {
  const m = new AddedTokenMatcher([tok(5, '<m>', { lstrip: true, rstrip: true }), tok(6, '<n>')]);
  assert.deepEqual(m.splitRaw('a \t<m>\u2000 b', true), ['a', 5, 'b']);
  assert.deepEqual(m.splitRaw('<n> <m> <m>', true), [6, 5, 5]);
  // U+200B is not whitespace (Unicode White_Space), U+0085 is.
  assert.deepEqual(m.splitRaw('a\u200b<m>\u0085b', true), ['a\u200b', 5, 'b']);
});

test('added tokens: normalized tokens are matched, with normalized content, in normalized pieces only', () => {
  const lower = (s: string) => s.toLowerCase();
  const m = new AddedTokenMatcher([tok(1, 'New York', { normalized: true }), tok(2, 'RAW')], lower);
  assert.deepEqual(m.splitRaw('in NEW YORK, RAW raw', true), ['in NEW YORK, ', 2, ' raw']);
  assert.deepEqual(m.splitNormalized(lower('in NEW YORK, '), true), ['in ', 1, ', ']);
});
