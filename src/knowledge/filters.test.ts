import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matches, parseFilter } from './filters.ts';
import { reciprocalRankFusion } from './knowledge-base.ts';
import { htmlText } from './extract.ts';

test('comparison and compound filters over attributes', () => {
  const a = { genre: 'novel', year: 1869, ru: true };
  assert.ok(matches(parseFilter({ type: 'eq', key: 'genre', value: 'novel' }), a));
  assert.ok(!matches(parseFilter({ type: 'gt', key: 'year', value: 1900 }), a));
  assert.ok(matches(parseFilter({ type: 'lte', key: 'year', value: 1869 }), a));
  assert.ok(matches(parseFilter({ type: 'in', key: 'genre', value: ['poem', 'novel'] }), a));
  assert.ok(matches(parseFilter({ type: 'nin', key: 'missing', value: ['x'] }), a));
  assert.ok(!matches(parseFilter({ type: 'gt', key: 'genre', value: 3 }), a), 'a string is not compared with a number');
  assert.ok(matches(parseFilter({ type: 'and', filters: [{ type: 'eq', key: 'ru', value: true }, { type: 'or', filters: [{ type: 'lt', key: 'year', value: 1800 }, { type: 'ne', key: 'genre', value: 'poem' }] }] }), a));
  assert.throws(() => parseFilter({ type: 'like', key: 'genre', value: 'n%' }), /filters.type must be one of/);
  assert.throws(() => parseFilter({ type: 'and', filters: [{ type: 'eq', value: 1 }] }), /filters.filters\[0\].key/);
});

test('reciprocal rank fusion: Σ 1/(60 + rank), an id in both lists first', () => {
  const fused = reciprocalRankFusion([[1, 2, 3], [3, 4]]);
  assert.deepEqual(fused.map((x) => x.id), [3, 1, 2, 4]); // 2 and 4 tie at 1/62: first seen first
  assert.ok(Math.abs(fused[0].score - (1 / 63 + 1 / 61)) < 1e-12);
});

test('HTML: markup, scripts and styles go, entities are decoded, blocks become lines', () => {
  assert.equal(htmlText('<h1>A&amp;B</h1><script>x()</script><p>one&#39;s <b>two</b>&nbsp;three</p>'), "A&B\none's two three");
});

test('HTML: comments, raw bodies in any case, unclosed markup, and line breaks with blank lines between', () => {
  assert.equal(htmlText('a<!-- x <p> -->b<STYLE>p{}</style >c<script>never closed'), 'a b c never closed');
  assert.equal(htmlText('one \r\n \n\n  two<br>three<span>four</span> 5 < 6'), 'one\ntwo\nthree four 5 < 6');
  assert.equal(htmlText('x<!-- never closed'), 'x');
});

test('HTML: hostile documents (100k unclosed comments, scripts, tags, or whitespace runs) are linear', () => {
  for (const doc of ['<!--'.repeat(100_000) + 'x', '<script>'.repeat(100_000), '<'.repeat(200_000), '\r'.repeat(200_000) + 'x', '</scrip'.repeat(100_000)]) {
    const t0 = performance.now();
    htmlText('<script>' + doc);
    assert.ok(performance.now() - t0 < 2000, `${doc.slice(0, 10)}…: ${(performance.now() - t0).toFixed(0)} ms`);
  }
});
