// What can never fit is a 400 with the reason; 503 (with Retry-After) only while the slots and the queue are really
// full, and its message says so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, until, type TestServer } from './harness.ts';

let srv: TestServer;
before(async () => {
  srv = await startServer({ parallel: 2, queueLimit: 2 });
});
after(() => srv.close());

const post = (path: string, body: unknown, signal?: AbortSignal) =>
  fetch(srv.base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
const M = 'stories260K';

test('more prompts or inputs than the slots and queue hold together: 400 naming both, with every slot idle', async () => {
  const many = Array.from({ length: 100 }, () => 'Once upon a time');
  for (const [path, body] of [
    ['/v1/completions', { model: M, prompt: many, max_tokens: 1 }],
    ['/v1/embeddings', { model: M, input: many }],
    ['/api/embed', { model: M, input: many }],
  ] as const) {
    const r = await post(path, body);
    const text = await r.text();
    assert.equal(r.status, 400, `${path}: ${text}`);
    assert.equal(r.headers.get('retry-after'), null);
    assert.match(text, /100 (prompts|inputs) can never be queued at once: this model takes 4 \(2 slots and a queue of 2\)/);
  }
});

test('a prompt longer than the context: 400 context_length_exceeded in every dialect', async () => {
  const long = 'Once upon a time '.repeat(2000);
  for (const [path, body] of [
    ['/v1/completions', { model: M, prompt: long, max_tokens: 1 }],
    ['/v1/chat/completions', { model: M, messages: [{ role: 'user', content: long }], max_tokens: 1 }],
    ['/api/generate', { model: M, prompt: long, stream: false }],
    ['/v1/messages', { model: M, max_tokens: 1, messages: [{ role: 'user', content: long }] }],
  ] as const) {
    const r = await post(path, body);
    const text = await r.text();
    assert.equal(r.status, 400, `${path}: ${text.slice(0, 300)}`);
    assert.match(text, /context/);
  }
});

test('real overload: 503 with Retry-After saying what is full; afterwards the same request is served', async () => {
  const stop = new AbortController();
  // two streams take the slots, two more wait in the queue (their headers come only once they start)
  const streams = Array.from({ length: 4 }, () =>
    post('/v1/completions', { model: M, prompt: 'Once upon a time', max_tokens: 1900, stream: true, logit_bias: { 2: -100 } }, stop.signal));
  const stats = () => srv.host.ready().stats?.();
  await until(() => stats()?.busy === 2 && stats()?.queued === 2, 5000);
  const held = streams;
  try {
    const r = await post('/v1/completions', { model: M, prompt: 'Once', max_tokens: 1 });
    const text = await r.text();
    assert.equal(r.status, 503, text);
    assert.equal(r.headers.get('retry-after'), '1');
    assert.match(text, /2 of 2 slots are busy and 2 requests are waiting \(the queue holds 2\)/);
  } finally {
    stop.abort();
    await Promise.allSettled(held);
  }
  const t0 = Date.now();
  for (;;) {
    const r = await post('/v1/completions', { model: M, prompt: 'Once', max_tokens: 1 });
    if (r.status === 200 || Date.now() - t0 > 5000) {
      assert.equal(r.status, 200);
      break;
    }
    await r.text();
    await new Promise((res) => setTimeout(res, 20));
  }
});
