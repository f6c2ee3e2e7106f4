// Shared body of the war-and-peace round-trip tests: decode(encode(text)) must give the text back.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sharedPath } from './shared.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';

let text: string | undefined;
export function warAndPeace(): string {
  text ??= readFileSync(sharedPath('text', 'war-and-peace.txt'), 'utf8');
  return text;
}

/** A 300 KB slice (from the middle, cut at a line start) for vocabularies not run on the full text. */
export function slice300k(): string {
  const t = warAndPeace();
  const start = t.indexOf('\n', 1_000_000) + 1;
  return t.slice(start, start + 300_000);
}

export function checkRoundTrip(path: string, input: string): void {
  const tok = loadTokenizer(path);
  const ids = tok.encode(input, { addBos: false, addEos: false });
  // A real tokenizer needs far fewer tokens than characters on English prose.
  assert.ok(ids.length > input.length / 8 && ids.length < input.length / 2, `${ids.length} tokens`);
  const back = tok.decode(ids, { skipSpecial: false, cleanSpaces: false });
  if (back !== input) {
    let i = 0;
    while (i < back.length && back[i] === input[i]) i++;
    assert.fail(`round trip differs at ${i}: ${JSON.stringify(input.slice(i, i + 40))} -> ${JSON.stringify(back.slice(i, i + 40))}`);
  }
}
