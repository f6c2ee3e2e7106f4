import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ThinkingSplitter } from './thinking.ts';

const QWEN = '<think>\nThe user asks for 2+2.\nThat is 4.\n</think>\n\nIt is 4.';

test('a think block becomes thinking, the rest content, whitespace at the tags trimmed', () => {
  assert.deepEqual(ThinkingSplitter.split(QWEN), { thinking: 'The user asks for 2+2.\nThat is 4.\n', content: 'It is 4.' });
  assert.deepEqual(ThinkingSplitter.split('No thinking here.'), { thinking: '', content: 'No thinking here.' });
  assert.deepEqual(ThinkingSplitter.split('<think>\n\n</think>\n\nHi'), { thinking: '', content: 'Hi' });
  // a reply that stops while thinking is all thinking
  assert.deepEqual(ThinkingSplitter.split('<think>still going'), { thinking: 'still going', content: '' });
  // a later <think> is content
  assert.deepEqual(ThinkingSplitter.split('Hi <think>x</think>'), { thinking: '', content: 'Hi <think>x</think>' });
  assert.deepEqual(ThinkingSplitter.split('<thin'), { thinking: '', content: '<thin' });
});

test('streamed in pieces cut anywhere (tags included), the parts add up to the same split', () => {
  const whole = ThinkingSplitter.split(QWEN);
  for (let a = 0; a <= QWEN.length; a++) {
    for (let b = a; b <= QWEN.length; b += 3) {
      const s = new ThinkingSplitter();
      const parts = [s.push(QWEN.slice(0, a)), s.push(QWEN.slice(a, b)), s.push(QWEN.slice(b)), s.end()];
      const got = { thinking: parts.map((p) => p.thinking).join(''), content: parts.map((p) => p.content).join('') };
      assert.deepEqual(got, whole, `cut at ${a}, ${b}`);
    }
  }
  // one character at a time: thinking never shows a piece of the closing tag
  const s = new ThinkingSplitter();
  for (const ch of QWEN) assert.ok(!s.push(ch).thinking.includes('<'));
});
