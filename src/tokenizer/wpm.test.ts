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

test('wpmWords: llama.cpp keeps only the first code point of a decomposition and drops every mark', () => {
  // 한국 = (ᄒ ᅡ ᆫ)(ᄀ ᅮ ᆨ) under NFD; only the leading jamo of each syllable is kept.
  assert.deepEqual(wpmWords('한국', BERT), ['\u1112\u1100']);
  // दुनिया: ु is Mn, ि and ा are spacing marks (Mc); all three go. क़ (U+0958) keeps क only.
  assert.deepEqual(wpmWords('दुनिया \u0958', BERT), ['दनय', 'क']);
  // Arabic harakat are marks too.
  assert.deepEqual(wpmWords('بِسْمِ', BERT), ['بسم']);
  // A non-ASCII character whose decomposition starts with ASCII punctuation splits like it (U+037E → ;).
  assert.deepEqual(wpmWords('a\u037eb', BERT), ['a', ';', 'b']);
});

test('wpmWords: unassigned code points are ordinary, format characters are dropped, lowercase is one-to-one', () => {
  // U+0378 is unassigned; U+200D (ZWJ) and U+FEFF are format characters (Cf).
  assert.deepEqual(wpmWords('a\u0378b c\u200dd\ufeff', BERT), ['a\u0378b', 'cd']);
  // Unicode 16 characters are unassigned to llama.cpp's 15.1 tables: Garay capital U+10D50 is not
  // lowercased and Todhri U+105C9 is not decomposed, whatever this Node's ICU knows.
  assert.deepEqual(wpmWords('\u{10D50}\u{105C9}', BERT), ['\u{10D50}\u{105C9}']);
  assert.deepEqual(wpmWords('İstanbul', { lowercase: true, stripAccents: false }), ['istanbul']);
});
