import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MergeHeap } from './merge-heap.ts';

test('pops the highest key first, the smallest left on ties, and grows past its capacity', () => {
  const h = new MergeHeap();
  const items: [number, number][] = [];
  for (let i = 0; i < 1000; i++) items.push([(i * 37) % 11, (i * 101) % 1000]);
  for (const [k, l] of items) h.push(k, l, l + 1, 2);
  const expected = [...items].sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const got: [number, number][] = [];
  while (h.length) { h.pop(); got.push([h.topKey, h.topLeft]); }
  assert.deepEqual(got, expected);
});
