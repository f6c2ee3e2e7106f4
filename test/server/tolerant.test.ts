// Tolerant parsing: unknown request fields are ignored and listed (the hearth-ignored-fields header, the log
// line), fields for features the server lacks are still refused, and AppDeps strict restores the 400s. Also the
// shape fixes: llama-server's fields on the OpenAI endpoints, max_tokens beyond the context per dialect, Ollama
// echoing the model name as sent, and /v1/models in Anthropic's shape for the Anthropic SDK.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import { startServer, type TestServer } from './harness.ts';

const M = 'stories260K';
const N_CTX = 128;
const msgs = [{ role: 'user', content: 'Once upon a time' }];
const lines: Record<string, unknown>[] = [];
let srv: TestServer;

before(async () => {
  const stream = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  srv = await startServer({ parallel: 2, nCtx: N_CTX, app: { logger: { level: 'info', stream } } });
});
after(() => srv.close());

async function post(path: string, body: unknown, base = srv.base) {
  const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: (() => { try { return JSON.parse(text); } catch { return undefined; } })() };
}

const ignoredOf = (headers: Headers) => headers.get('hearth-ignored-fields')?.split(', ');

/** The log line of the request that answered with this x-request-id. */
async function logLine(headers: Headers): Promise<Record<string, unknown>> {
  const id = headers.get('x-request-id');
  for (let i = 0; i < 100; i++) {
    const line = lines.find((l) => l.msg === 'request' && l.reqId === id);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no log line for request ${id}`);
}

test('OpenAI chat: unknown fields are ignored, listed in the header and the log line', async () => {
  const r = await post('/v1/chat/completions', {
    model: M, max_tokens: 3, messages: [{ role: 'user', content: 'Once', colour: 'red' }],
    verbosity: 'low', dynatemp_range: 0.5, temprature: 1, stream_options: undefined,
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.choices[0].finish_reason, 'length');
  assert.deepEqual(ignoredOf(r.headers), ['messages[0].colour', 'verbosity', 'dynatemp_range', 'temprature']);
  assert.deepEqual((await logLine(r.headers)).ignored_fields, ['messages[0].colour', 'verbosity', 'dynatemp_range', 'temprature']);
  // Nothing ignored: no header, no log field.
  const clean = await post('/v1/chat/completions', { model: M, max_tokens: 2, messages: msgs });
  assert.equal(clean.status, 200);
  assert.equal(clean.headers.get('hearth-ignored-fields'), null);
  assert.equal((await logLine(clean.headers)).ignored_fields, undefined);
});

test('OpenAI client: verbosity passes, and the header is there for the caller to read', async () => {
  const openai = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'unused', maxRetries: 0 });
  const { data, response } = await openai.chat.completions
    .create({ model: M, messages: [{ role: 'user', content: 'Once' }], max_tokens: 3, verbosity: 'low', store: false, metadata: { a: 'b' } })
    .withResponse();
  assert.equal(data.choices[0].finish_reason, 'length');
  assert.equal(response.headers.get('hearth-ignored-fields'), 'verbosity');
});

test('llama-server fields on the OpenAI endpoints: n_predict limits, cache_prompt and id_slot are accepted', async () => {
  const chat = await post('/v1/chat/completions', { model: M, messages: msgs, n_predict: 2, cache_prompt: true, id_slot: -1 });
  assert.equal(chat.status, 200, chat.text);
  assert.equal(chat.json.usage.completion_tokens, 2);
  assert.equal(chat.headers.get('hearth-ignored-fields'), null);
  const completion = await post('/v1/completions', { model: M, prompt: 'Once', n_predict: 3, cache_prompt: false });
  assert.equal(completion.status, 200, completion.text);
  assert.equal(completion.json.usage.completion_tokens, 3);
  // max_tokens wins over n_predict
  const both = await post('/v1/completions', { model: M, prompt: 'Once', max_tokens: 1, n_predict: 5 });
  assert.equal(both.json.usage.completion_tokens, 1);
  const big = await post('/v1/chat/completions', { model: M, messages: msgs, n_predict: 10_000 });
  assert.equal(big.status, 400);
  assert.equal(big.json.error.param, 'n_predict');
  assert.equal(big.json.error.code, 'context_length_exceeded');
});

test('Ollama: unknown keys in options and at the top level are listed, streamed or not', async () => {
  const r = await post('/api/generate', { model: M, prompt: 'Once', stream: false, options: { num_predict: 2, foo: 1 }, bar: true });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(ignoredOf(r.headers), ['options.foo', 'bar']);
  assert.deepEqual((await logLine(r.headers)).ignored_fields, ['options.foo', 'bar']);
  const s = await post('/api/chat', { model: M, messages: msgs, options: { num_predict: 2, foo: 1 } });
  assert.equal(s.status, 200);
  assert.match(s.headers.get('content-type') ?? '', /ndjson/);
  assert.deepEqual(ignoredOf(s.headers), ['options.foo']);
  assert.equal(s.text.trim().split('\n').map((l) => JSON.parse(l)).at(-1).done, true);
});

test('llama-server endpoints: unknown fields are listed', async () => {
  const r = await post('/completion', { prompt: 'Once', n_predict: 2, sillytavern_only: true, typical_p: 1 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('hearth-ignored-fields'), 'sillytavern_only');
});

test('Ollama: sampling fields at the top level are honoured as options', async () => {
  const r = await post('/api/chat', { model: M, messages: msgs, stream: false, temperature: 0, top_p: 0.9, max_output_tokens: 3 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.eval_count, 3);
  assert.equal(r.headers.get('hearth-ignored-fields'), null);
  const g = await post('/api/generate', { model: M, prompt: 'Once', stream: false, max_tokens: 2, temperature: 0, stop: [] });
  assert.equal(g.json.eval_count, 2);
  // options win over their top-level twins
  const o = await post('/api/generate', { model: M, prompt: 'Once', stream: false, max_tokens: 2, options: { num_predict: 4 } });
  assert.equal(o.json.eval_count, 4);
});

test('fields for features the server lacks are still refused, naming the field', async () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['/v1/chat/completions', { model: M, messages: msgs, audio: { voice: 'alloy', format: 'wav' } }, 'audio'],
    ['/v1/chat/completions', { model: M, messages: msgs, modalities: ['text', 'audio'] }, 'modalities'],
    ['/v1/chat/completions', { model: M, messages: msgs, prediction: { type: 'content', content: 'x' } }, 'prediction'],
    ['/v1/chat/completions', { model: M, messages: msgs, web_search_options: {} }, 'web_search_options'],
    ['/v1/messages', { model: M, max_tokens: 5, messages: msgs, mcp_servers: [{ type: 'url', url: 'https://x.example', name: 'x' }] }, 'mcp_servers'],
    ['/v1/messages', { model: M, max_tokens: 5, messages: msgs, container: 'c' }, 'container'],
    ['/api/generate', { model: M, prompt: 'x', options: { tfs_z: 0.5 } }, 'options.tfs_z'],
  ];
  for (const [path, body, field] of cases) {
    const r = await post(path, body);
    assert.equal(r.status, 400, `${field}: ${r.text}`);
    assert.match(r.text, new RegExp(`${field.replace('.', '\\.')} is not supported`), field);
  }
});

test('strict (hearth serve --strict): unknown fields are a 400 naming them', async () => {
  const strict = await startServer({ parallel: 1, app: { strict: true } });
  try {
    const r = await post('/v1/chat/completions', { model: M, max_tokens: 2, messages: msgs, verbosity: 'low' }, strict.base);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.param, 'verbosity');
    assert.match(r.json.error.message, /unrecognized field verbosity/);
    const o = await post('/api/generate', { model: M, prompt: 'x', options: { foo: 1 } }, strict.base);
    assert.equal(o.status, 400);
    assert.match(o.json.error, /unrecognized field options\.foo/);
    // What it reads on purpose still passes.
    const ok = await post('/v1/chat/completions', { model: M, messages: msgs, n_predict: 2, cache_prompt: true }, strict.base);
    assert.equal(ok.status, 200, ok.text);
    // llama-server's endpoints ignore unknown fields whatever the mode, as llama-server does, and list them.
    const llama = await post('/completion', { prompt: 'Once', n_predict: 2, backend_specific: 1 }, strict.base);
    assert.equal(llama.status, 200, llama.text);
    assert.equal(llama.headers.get('hearth-ignored-fields'), 'backend_specific');
  } finally {
    await strict.close();
  }
});

test('max_tokens beyond the context: a 400 on OpenAI and Anthropic, capped on Ollama', async () => {
  const chat = await post('/v1/chat/completions', { model: M, messages: msgs, max_tokens: 1e20 });
  assert.equal(chat.status, 400);
  assert.equal(chat.json.error.param, 'max_tokens');
  assert.match(chat.json.error.message, new RegExp(`the prompt \\(\\d+ tokens\\) \\+ max_tokens exceeds the context of ${N_CTX} tokens`));
  const raw = await post('/v1/messages', { model: M, max_tokens: 1e20, messages: msgs });
  assert.equal(raw.status, 400);
  assert.equal(raw.json.error.type, 'invalid_request_error');
  // (the SDK itself refuses a non-streamed max_tokens this large, so it streams)
  const anthropic = new Anthropic({ baseURL: srv.base, apiKey: 'unused', maxRetries: 0 });
  await assert.rejects(anthropic.messages.create({ model: M, max_tokens: 1e20, stream: true, messages: [{ role: 'user', content: 'Once' }] }),
    (e: any) => e.status === 400 && e.error?.error?.type === 'invalid_request_error' && /max_tokens exceeds the context/.test(e.error.error.message));
  // Within the context it runs.
  const fits = await post('/v1/chat/completions', { model: M, messages: msgs, max_tokens: 50 });
  assert.equal(fits.status, 200, fits.text);
  const ollama = await post('/api/generate', { model: M, prompt: 'Once upon a time', raw: true, stream: false, options: { num_predict: 1e20, temperature: 0 } });
  assert.equal(ollama.status, 200, ollama.text);
  assert.ok(ollama.json.prompt_eval_count + ollama.json.eval_count <= N_CTX, ollama.text);
});

test('Ollama echoes the model name as the request gave it', async () => {
  const ollama = new Ollama({ host: srv.base });
  for (const model of ['stories260K:latest', 'stories260K']) {
    const g = await ollama.generate({ model, prompt: 'Once', stream: false, options: { num_predict: 2 } });
    assert.equal(g.model, model);
    const c = await ollama.chat({ model, messages: msgs, stream: false, options: { num_predict: 2 } });
    assert.equal(c.model, model);
    for await (const part of await ollama.chat({ model, messages: msgs, stream: true, options: { num_predict: 2 } })) assert.equal(part.model, model);
    for await (const part of await ollama.generate({ model, prompt: 'Once', stream: true, options: { num_predict: 2 } })) assert.equal(part.model, model);
  }
});

test('Anthropic client: models.list() and models.retrieve() in Anthropic\'s shape', async () => {
  const anthropic = new Anthropic({ baseURL: srv.base, apiKey: 'unused', maxRetries: 0 });
  const ids: string[] = [];
  for await (const m of anthropic.models.list()) {
    assert.equal(m.type, 'model');
    assert.equal(m.display_name, m.id);
    assert.ok(!Number.isNaN(Date.parse(m.created_at)));
    ids.push(m.id);
  }
  assert.deepEqual(ids, [M]);
  const page = await anthropic.models.list({ limit: 1 });
  assert.deepEqual({ more: page.has_more, first: page.first_id, last: page.last_id }, { more: false, first: M, last: M });
  const one = await anthropic.models.retrieve(M);
  assert.equal(one.id, M);
  assert.equal(one.type, 'model');
  await assert.rejects(anthropic.models.retrieve('claude-x'), (e: any) => e.status === 404 && e.error?.type === 'error');
  // Without anthropic-version it is OpenAI's list.
  const openai = await (await fetch(`${srv.base}/v1/models`)).json() as { object: string; data: { object: string }[] };
  assert.equal(openai.object, 'list');
  assert.equal(openai.data[0].object, 'model');
});

test("llama-server's n_probs on the OpenAI endpoints: log-probabilities with that many alternatives", async () => {
  const chat = await post('/v1/chat/completions', { model: M, messages: msgs, max_tokens: 3, n_probs: 2 });
  assert.equal(chat.status, 200, chat.text);
  const content = chat.json.choices[0].logprobs.content as { logprob: number; top_logprobs: unknown[] }[];
  assert.equal(content.length, 3);
  assert.ok(content.every((t) => t.logprob <= 0 && t.top_logprobs.length === 2));
  const done = await post('/v1/completions', { model: M, prompt: 'Once', max_tokens: 3, n_probs: 3 });
  assert.equal(done.status, 200, done.text);
  assert.ok((done.json.choices[0].logprobs.top_logprobs as object[]).every((alts) => Object.keys(alts).length === 3));
  assert.equal(ignoredOf(chat.headers), undefined, 'n_probs is read, not ignored');
});
