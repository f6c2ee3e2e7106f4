import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsciiWordCache } from './ascii-word-cache.ts';

test('AsciiWordCache: one make per distinct word, keyed by position-independent lowercase text', () => {
  const src = 'The cat saw THE dog; the Cat ran';
  const made: string[] = [];
  const cache = new AsciiWordCache<string>(true, 100);
  const make = (w: string): string => { made.push(w); return `<${w}>`; };
  const at = (word: string, from = 0): string => {
    const i = src.indexOf(word, from);
    return cache.get(src, i, i + word.length, make);
  };
  assert.equal(at('The'), '<the>');
  assert.equal(at('THE'), '<the>');
  assert.equal(at('the'), '<the>');
  assert.equal(at('cat'), '<cat>');
  assert.equal(at('Cat'), '<cat>');
  assert.equal(at('ca'), '<ca>'); // a prefix is its own word
  assert.deepEqual(made, ['the', 'cat', 'ca']);

  const exact = new AsciiWordCache<string>(false, 100);
  exact.get(src, 0, 3, make);
  exact.get(src, 12, 15, make);
  assert.deepEqual(made.slice(3), ['The', 'THE']);
});

test('AsciiWordCache: survives growth, and stops keeping words past maxEntries', () => {
  const words = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}x`);
  const src = words.join(' ');
  const starts: number[] = [];
  for (let i = 0, p = 0; i < words.length; i++) { starts.push(p); p += words[i].length + 1; }
  const cache = new AsciiWordCache<number>(true, 1 << 16);
  words.forEach((w, i) => assert.equal(cache.get(src, starts[i], starts[i] + w.length, () => i), i));
  const never = (): number => { throw new Error('made again'); };
  words.forEach((w, i) => assert.equal(cache.get(src, starts[i], starts[i] + w.length, never), i));

  const small = new AsciiWordCache<number>(false, 10);
  let calls = 0;
  for (let round = 0; round < 2; round++) {
    words.slice(0, 20).forEach((w, i) => small.get(src, starts[i], starts[i] + w.length, () => { calls++; return i; }));
  }
  assert.equal(calls, 30); // the first 10 are kept, the other 10 are made in both rounds
});
