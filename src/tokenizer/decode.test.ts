import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanSpaces, PieceStreamDecoder } from './decode.ts';

function clean(s: string): string {
  const b = new TextEncoder().encode(s);
  return new TextDecoder().decode(b.subarray(0, cleanSpaces(b, b.length)));
}

test('cleanSpaces follows llama.cpp: punctuation, lone apostrophes, contractions', () => {
  assert.equal(clean('Hello , world !'), 'Hello, world!');
  assert.equal(clean("it ' s"), "it's");
  assert.equal(clean("I 'm sure you 're right , they 've"), "I'm sure you're right, they've");
  // 't, 'd and 'll keep their space in llama.cpp.
  assert.equal(clean("don 't , he 'd , we 'll"), "don 't, he 'd, we 'll");
  assert.equal(clean(''), '');
});

test('the stream decoder holds back an incomplete UTF-8 sequence', () => {
  const bytes = [...new TextEncoder().encode('é😁')].map((b) => Uint8Array.of(b));
  const dec = new PieceStreamDecoder((id) => bytes[id]);
  const parts = bytes.map((_, i) => dec.push(i));
  assert.deepEqual(parts, ['', 'é', '', '', '', '😁']);
  assert.equal(dec.flush(), '');
});
