import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkText, checkChunking } from './chunk.ts';

// One token per character of a word: easy to count by hand.
const count = (s: string) => s.length;

test('windows of at most maxTokens, each starting overlap tokens before the previous end, slices of the text', () => {
  const text = 'aa bb cc dd ee ff gg hh';
  const chunks = chunkText(text, count, { maxTokens: 6, overlap: 2 });
  assert.deepEqual(chunks.map((c) => c.text), ['aa bb cc', 'cc dd ee', 'ee ff gg', 'gg hh']);
  assert.ok(chunks.every((c) => c.tokens <= 6 && text.includes(c.text)));
  assert.deepEqual(chunkText(text, count, { maxTokens: 6, overlap: 0 }).map((c) => c.text), ['aa bb cc', 'dd ee ff', 'gg hh']);
});

test('no words, no chunks; a word longer than a window is cut', () => {
  assert.deepEqual(chunkText(' \n\t ', count, { maxTokens: 100, overlap: 0 }), []);
  const long = chunkText('x'.repeat(250), count, { maxTokens: 100, overlap: 0 });
  assert.equal(long.map((c) => c.text).join(''), 'x'.repeat(250));
  assert.ok(long.every((c) => c.tokens <= 100));
});

test("OpenAI's bounds on the static strategy", () => {
  checkChunking({ maxTokens: 800, overlap: 400 });
  assert.throws(() => checkChunking({ maxTokens: 99, overlap: 0 }), /100 to 4096/);
  assert.throws(() => checkChunking({ maxTokens: 800, overlap: 401 }), /half/);
});
