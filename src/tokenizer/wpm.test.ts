import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wpmWords } from './wpm.ts';

const BERT = { lowercase: true, stripAccents: true };

test('wpmWords: ASCII runs, punctuation and symbols split, controls dropped inside a word', () => {
  assert.deepEqual(wpmWords('Hello, World!\tx+y  ab\u0001cd\n', BERT), ['hello', ',', 'world', '!', 'x', '+', 'y', 'abcd']);
  assert.deepEqual(wpmWords('AbC_d', { lowercase: false, stripAccents: false }), ['AbC', '_', 'd']);
});

test('wpmWords: ASCII and non-ASCII in one word, accents, CJK, non-ASCII symbols', () => {
  assert.deepEqual(wpmWords('Naïve École', BERT), ['naive', 'ecole']);
  assert.deepEqual(wpmWords('Naïve', { lowercase: true, stripAccents: false }), ['naïve']);
  assert.deepEqual(wpmWords('ab中cd', BERT), ['ab', '中', 'cd']);
  // Only ASCII symbols split; € stays inside the word. Σ lowercases on its own (σ), as llama.cpp does.
  assert.deepEqual(wpmWords('a€b ΟΔΟΣ', BERT), ['a€b', 'οδοσ']);
  assert.deepEqual(wpmWords('x\u3000y\u00a0z\u2014w', BERT), ['x', 'y', 'z', '\u2014', 'w']);
});
