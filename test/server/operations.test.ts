// Health while loading, metrics, the request log, a full queue (503 + Retry-After), per-request timeouts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startServer, STORIES, until } from './harness.ts';

const chat = (max: number, stream = false) => JSON.stringify({
  model: 'stories260K', messages: [{ role: 'user', content: 'Once' }], max_tokens: max, temperature: 0, stream,
});
const postJson = (base: string, path: string, body: string, signal?: AbortSignal) =>
  fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal });
const json = async (r: Response): Promise<any> => r.json();

test('/health is 503 while the model loads, 200 once ready; requests meanwhile get 503 with Retry-After', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const srv = await startServer({ source: () => gate.then(() => ({ path: STORIES })), ready: false });
  try {
    const h = await fetch(srv.base + '/health');
    assert.equal(h.status, 503);
    assert.deepEqual(await h.json(), { status: 'loading', error: { code: 503, message: 'Loading model', type: 'unavailable_error' } });
    const busy = await postJson(srv.base, '/v1/chat/completions', chat(2));
    assert.equal(busy.status, 503);
    assert.equal(busy.headers.get('retry-after'), '1');
    assert.match((await json(busy)).error.message, /still loading/);
    release();
    await until(() => srv.host.state === 'ready');
    const ok = await fetch(srv.base + '/health');
    assert.equal(ok.status, 200);
    assert.equal((await json(ok)).status, 'ok');
  } finally {
    await srv.close();
  }
});

test('a model that fails to load: /health 503 with the reason', async () => {
  const srv = await startServer({ source: () => { throw new Error('disk on fire'); }, ready: false });
  try {
    await until(() => srv.host.state === 'failed');
    const h = await fetch(srv.base + '/health');
    assert.equal(h.status, 503);
    assert.deepEqual(await h.json(), { status: 'error', error: 'disk on fire' });
  } finally {
    await srv.close();
  }
});

test('full queue: 503 with Retry-After in each dialect; the SDKs raise their server-error types', async () => {
  const srv = await startServer({ parallel: 1, queueLimit: 1 });
  const ac = new AbortController();
  try {
    // one request generating, one waiting: the next is refused
    const running = await postJson(srv.base, '/v1/chat/completions', chat(1500, true), ac.signal);
    const waiting = await postJson(srv.base, '/v1/chat/completions', chat(1500, true), ac.signal);
    assert.equal(running.status, 200);
    assert.equal(waiting.status, 200);
    assert.deepEqual(srv.host.ready().stats(), { slots: 1, busy: 1, queued: 1 });
    const refused = await postJson(srv.base, '/v1/chat/completions', chat(5));
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal((await json(refused)).error.code, 'queue_full');
    const ollama = await postJson(srv.base, '/api/generate', JSON.stringify({ model: 'stories260K', prompt: 'x' }));
    assert.equal(ollama.status, 503);
    assert.match((await json(ollama)).error, /slots are busy/);
    const openai = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'x', maxRetries: 0 });
    await assert.rejects(openai.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e instanceof OpenAI.InternalServerError && e.status === 503);
    const anthropic = new Anthropic({ baseURL: srv.base, apiKey: 'x', maxRetries: 0 });
    await assert.rejects(anthropic.messages.create({ model: 'stories260K', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      (e) => e instanceof Anthropic.APIError && e.status === 503 && (e.error as { error: { type: string } }).error.type === 'overloaded_error');
  } finally {
    ac.abort();
    await until(() => srv.host.ready().stats().busy === 0);
    await srv.close();
  }
});

test('per-request timeout: 504 before the first byte, an error event inside a stream', async () => {
  const srv = await startServer({ parallel: 1, timeoutMs: 40 });
  try {
    const r = await postJson(srv.base, '/v1/chat/completions', chat(1900));
    assert.equal(r.status, 504);
    assert.equal((await json(r)).error.code, 'timeout');
    const openai = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'x', maxRetries: 0 });
    const stream = await openai.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content: 'Once' }], max_tokens: 1900, temperature: 0, stream: true });
    let n = 0;
    await assert.rejects((async () => { for await (const _ of stream) n++; })(), (e) => e instanceof OpenAI.APIError && /did not finish within/.test(e.message));
    assert.ok(n > 0);
    assert.equal(srv.host.ready().stats().busy, 0);
  } finally {
    await srv.close();
  }
});

test('metrics count requests, tokens and time to first token; one JSON log line per request', async () => {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  const srv = await startServer({ parallel: 2, app: { logger: { level: 'info', stream } } });
  try {
    const r = await json(await postJson(srv.base, '/v1/chat/completions', chat(7)));
    const bad = await postJson(srv.base, '/v1/chat/completions', '{');
    assert.equal(bad.status, 400);
    const text = await (await fetch(srv.base + '/metrics')).text();
    const value = (name: string) => Number(text.match(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm'))?.[1]);
    assert.equal(value('hearth_http_requests_total{route="/v1/chat/completions",method="POST",status="200"}'), 1);
    assert.equal(value('hearth_http_requests_total{route="/v1/chat/completions",method="POST",status="400"}'), 1);
    assert.equal(value('hearth_generated_tokens_total'), 7);
    assert.equal(value('hearth_prompt_tokens_total'), r.usage.prompt_tokens);
    assert.equal(value('hearth_time_to_first_token_seconds_count{route="/v1/chat/completions"}'), 1);
    assert.equal(value('hearth_slots'), 2);
    assert.equal(value('hearth_busy_slots'), 0);
    assert.equal(value('hearth_queue_depth'), 0);
    assert.ok(value('hearth_model_load_seconds') > 0);
    // the prompt in one step, then 6 decode steps for the 7 tokens (the first comes with the prompt's logits)
    assert.equal(value('hearth_step_duration_seconds_count{kind="prompt"}'), 1);
    assert.equal(value('hearth_step_duration_seconds_count{kind="decode"}'), 6);
    assert.ok(value('hearth_process_resident_memory_bytes') > 1e6);
    for (const name of ['hearth_http_request_duration_seconds_bucket', 'hearth_generation_tokens_per_second_bucket', 'hearth_batch_sequences_bucket']) {
      assert.match(text, new RegExp(`^${name}`, 'm'));
    }
    const logged = lines.filter((l) => l.msg === 'request' && l.route === '/v1/chat/completions');
    assert.equal(logged.length, 2);
    assert.deepEqual(
      { status: logged[0].status, model: logged[0].model, p: logged[0].prompt_tokens, c: logged[0].completion_tokens },
      { status: 200, model: 'stories260K', p: r.usage.prompt_tokens, c: 7 },
    );
    assert.ok(typeof logged[0].reqId === 'string' && typeof logged[0].duration_ms === 'number');
    assert.equal(logged[1].status, 400);
  } finally {
    await srv.close();
  }
});

test('32 concurrent streams with 4 slots all finish with the right token counts', async () => {
  const srv = await startServer({ parallel: 4, queueLimit: 64 });
  try {
    const openai = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'x', maxRetries: 0 });
    const counts = await Promise.all(Array.from({ length: 32 }, async (_, i) => {
      const s = await openai.chat.completions.create({
        model: 'stories260K', messages: [{ role: 'user', content: `Story ${i}` }], max_tokens: 20, temperature: 0.8, seed: i,
        stream: true, stream_options: { include_usage: true }, stop: [],
      });
      let usage = 0;
      for await (const c of s) if (c.usage) usage = c.usage.completion_tokens;
      return usage;
    }));
    // a story may end early at end-of-text; none may run over
    assert.ok(counts.every((c) => c >= 1 && c <= 20), counts.join(','));
    assert.deepEqual(srv.host.ready().stats(), { slots: 4, busy: 0, queued: 0 });
  } finally {
    await srv.close();
  }
});
