// The upstream stream framing: lines and SSE events split across chunks at any byte (a UTF-8 character included),
// CRLF endings, multi-line data; Retry-After as seconds or a date.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, retryAfterMs, SseSplitter } from './transport.ts';

const chunked = (text: string, at: number[]) => {
  const b = Buffer.from(text);
  const cuts = [0, ...at, b.length];
  return cuts.slice(1).map((c, i) => b.subarray(cuts[i], c));
};

test('SSE events split at every byte come out whole and in order', () => {
  const text = 'event: message\r\ndata: {"a":"é"}\r\n\r\n: comment\n\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n';
  for (let cut = 1; cut < Buffer.byteLength(text); cut++) {
    const s = new SseSplitter();
    const out = chunked(text, [cut]).flatMap((c) => s.push(c)).concat(s.end());
    assert.deepEqual(out, ['{"a":"é"}', 'line1\nline2', '[DONE]'], `cut at ${cut}`);
  }
});

test('NDJSON lines, the last one without a newline', () => {
  const s = new LineSplitter();
  const out = chunked('{"a":1}\n{"b"', [3]).flatMap((c) => s.push(c)).concat(s.push(Buffer.from(':2}')), s.end());
  assert.deepEqual(out, ['{"a":1}', '{"b":2}']);
});

test('Retry-After: seconds or an HTTP date', () => {
  assert.equal(retryAfterMs('1'), 1000);
  assert.equal(retryAfterMs('0.5'), 500);
  assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4000), 6000);
  assert.equal(retryAfterMs(undefined), undefined);
  assert.equal(retryAfterMs('soon'), undefined);
});
