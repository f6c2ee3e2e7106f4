// The OpenAI API of `hearth serve`, used through the official `openai` client as a person would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { embed } from '../../src/engine/embed.ts';
import { startServer, reference, until, chatTemplateModelPath, type TestServer } from './harness.ts';

let srv: TestServer;
let client: OpenAI;

before(async () => {
  srv = await startServer({ parallel: 4 });
  client = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(() => srv.close());

// stories260K has no chat template: one user message is its content, tokenized as plain text with BOS.
const promptOf = (text: string) => srv.model.tokenizer.encode(text);

test('chat completion: greedy text equals the engine, usage equals the real token counts', async () => {
  const content = 'Once upon a time';
  const r = await client.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content }], max_tokens: 24, temperature: 0 });
  const want = await reference(srv.model, promptOf(content), { maxTokens: 24 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, want.text);
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage!.prompt_tokens, promptOf(content).length);
  assert.equal(r.usage!.completion_tokens, 24);
  assert.equal(r.usage!.total_tokens, promptOf(content).length + 24);
  assert.equal(r.model, 'stories260K');
  assert.match(r.id, /^chatcmpl-/);
});

test('chat streaming: deltas add up to the same text; include_usage sends a final usage chunk', async () => {
  const content = 'The little dog';
  const stream = await client.chat.completions.create({
    model: 'stories260K', messages: [{ role: 'user', content }], max_completion_tokens: 20, temperature: 0,
    stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  const want = await reference(srv.model, promptOf(content), { maxTokens: 20 });
  assert.equal(text, want.text);
  assert.equal(finish, 'length');
  assert.ok(chunks >= 20, `${chunks} chunks`);
  assert.deepEqual([usage!.prompt_tokens, usage!.completion_tokens], [promptOf(content).length, 20]);
});

test('a repeated prompt reuses the cached prefix (usage.prompt_tokens_details.cached_tokens)', async () => {
  const content = 'Ben and Mia went to the park to play';
  const ask = () => client.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content }], max_tokens: 3, temperature: 0 });
  const first = await ask();
  const again = await ask();
  assert.equal(again.choices[0].message.content, first.choices[0].message.content);
  // all but the last prompt token, which is evaluated again for its logits
  assert.equal(again.usage!.prompt_tokens_details!.cached_tokens, promptOf(content).length - 1);
});

test('stop strings end the text before the stop; finish_reason stop', async () => {
  const content = 'Once upon a time';
  const want = await reference(srv.model, promptOf(content), { maxTokens: 40, stop: ['.'] });
  assert.equal(want.reason, 'stop');
  const r = await client.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content }], max_tokens: 40, temperature: 0, stop: ['.', 'zzz'] });
  assert.equal(r.choices[0].message.content, want.text);
  assert.ok(!r.choices[0].message.content!.includes('.'));
  assert.equal(r.choices[0].finish_reason, 'stop');
});

test('seed: the same seed gives the same text, n choices differ from each other', async () => {
  const ask = (seed: number, n = 1) => client.chat.completions.create({
    model: 'stories260K', messages: [{ role: 'user', content: 'Lily' }], max_tokens: 30, temperature: 1, seed, n,
  });
  const [a, b, c] = await Promise.all([ask(42), ask(42), ask(7)]);
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  assert.notEqual(a.choices[0].message.content, c.choices[0].message.content);
  const several = await ask(42, 3);
  assert.equal(several.choices.length, 3);
  assert.deepEqual(several.choices.map((x) => x.index), [0, 1, 2]);
  assert.equal(several.choices[0].message.content, a.choices[0].message.content);
  assert.equal(new Set(several.choices.map((x) => x.message.content)).size, 3);
  assert.equal(several.usage!.prompt_tokens, promptOf('Lily').length);
  assert.equal(several.usage!.completion_tokens, 90);
});

test('logprobs and top_logprobs: the chosen token is the most likely one at temperature 0', async () => {
  const r = await client.chat.completions.create({
    model: 'stories260K', messages: [{ role: 'user', content: 'Once upon' }], max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 3,
  });
  const lp = r.choices[0].logprobs!.content!;
  assert.equal(lp.length, 6);
  assert.equal(lp.map((t) => t.token).join(''), r.choices[0].message.content);
  for (const t of lp) {
    assert.equal(t.top_logprobs.length, 3);
    assert.equal(t.top_logprobs[0].token, t.token);
    assert.ok(t.logprob <= 0 && t.top_logprobs[1].logprob <= t.top_logprobs[0].logprob);
    assert.deepEqual(t.bytes, [...Buffer.from(t.token)]);
  }
});

test('completions: string, list and token-id prompts; echo; usage', async () => {
  const text = 'Once upon a time';
  const ids = promptOf(text);
  const want = await reference(srv.model, ids, { maxTokens: 10 });
  const r = await client.completions.create({ model: 'stories260K', prompt: text, max_tokens: 10, temperature: 0 });
  assert.equal(r.choices[0].text, want.text);
  assert.deepEqual([r.usage!.prompt_tokens, r.usage!.completion_tokens], [ids.length, 10]);
  const byIds = await client.completions.create({ model: 'stories260K', prompt: ids, max_tokens: 10, temperature: 0 });
  assert.equal(byIds.choices[0].text, want.text);
  const two = await client.completions.create({ model: 'stories260K', prompt: [text, 'Tom'], max_tokens: 5, temperature: 0, echo: true });
  assert.equal(two.choices.length, 2);
  assert.ok(two.choices[0].text.startsWith(text));
  assert.ok(two.choices[1].text.startsWith('Tom'));
  assert.equal(two.usage!.prompt_tokens, ids.length + promptOf('Tom').length);
  // OpenAI's default max_tokens for completions is 16
  const dflt = await client.completions.create({ model: 'stories260K', prompt: 'Tom', temperature: 0, stop: null });
  assert.equal(dflt.usage!.completion_tokens, 16);
});

test('completions streaming with logprobs', async () => {
  const stream = await client.completions.create({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 8, temperature: 0, logprobs: 2, stream: true });
  let text = '';
  let scored = 0;
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      text += c.text;
      scored += c.logprobs?.tokens?.length ?? 0;
    }
  }
  assert.equal(text, (await reference(srv.model, promptOf('Once upon a time'), { maxTokens: 8 })).text);
  assert.equal(scored, 8);
});

test('embeddings: float and the SDK default (base64) both equal the engine embedding', async () => {
  const want = embed(srv.model, promptOf('hello world'));
  const b64 = await client.embeddings.create({ model: 'stories260K', input: 'hello world' });
  const flt = await client.embeddings.create({ model: 'stories260K', input: ['hello world', 'Tom'], encoding_format: 'float' });
  assert.equal(b64.data[0].embedding.length, srv.model.hp.nEmbd);
  assert.deepEqual(Float32Array.from(b64.data[0].embedding), want);
  assert.deepEqual(Float32Array.from(flt.data[0].embedding), want);
  assert.equal(flt.data.length, 2);
  assert.equal(flt.usage.prompt_tokens, promptOf('hello world').length + promptOf('Tom').length);
});

test('models: list and retrieve; an unknown model is NotFoundError', async () => {
  const list = await client.models.list();
  assert.deepEqual(list.data.map((m) => m.id), ['stories260K']);
  assert.equal((await client.models.retrieve('stories260K')).id, 'stories260K');
  await assert.rejects(client.models.retrieve('gpt-4'), (e) => e instanceof OpenAI.NotFoundError && /gpt-4/.test(e.message));
  await assert.rejects(client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.NotFoundError && (e.error as { code: string }).code === 'model_not_found');
});

test('bad requests raise the SDK error types with the field named', async () => {
  const base = { model: 'stories260K', messages: [{ role: 'user' as const, content: 'x' }] };
  await assert.rejects(client.chat.completions.create({ ...base, temperature: 5 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'temperature' && /temperature must be <= 2/.test(e.message));
  await assert.rejects(client.chat.completions.create({ ...base, tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'g' } } }),
    (e) => e instanceof OpenAI.BadRequestError && /tool_choice names function "g", which is not in tools \(f\)/.test(e.message));
  await assert.rejects(client.chat.completions.create({ ...base, response_format: { type: 'json_schema', json_schema: { name: 'n', schema: { type: 'number', multipleOf: 2 } } } }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'response_format.json_schema.schema' && /multipleOf/.test(e.message));
  const long = 'Once upon a time '.repeat(600);
  await assert.rejects(client.completions.create({ model: 'stories260K', prompt: long }),
    (e) => e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded');
});

test('aborting a stream mid-way frees the slot within a step', async () => {
  const ac = new AbortController();
  const stream = await client.chat.completions.create({
    model: 'stories260K', messages: [{ role: 'user', content: 'Once' }], max_tokens: 1500, temperature: 0, stream: true,
  }, { signal: ac.signal });
  const sched = srv.host.ready();
  let n = 0;
  try {
    for await (const _ of stream) {
      if (++n === 5) {
        assert.equal(sched.stats().busy, 1);
        ac.abort();
      }
    }
  } catch (e) {
    assert.ok(e instanceof OpenAI.APIUserAbortError, String(e));
  }
  assert.ok(n < 50, `${n} chunks after the abort`);
  await until(() => sched.stats().busy === 0);
  assert.deepEqual(sched.stats(), { slots: 4, busy: 0, queued: 0 });
});

test('a chat-template model: the prompt is the rendered template, the last assistant message is continued', async () => {
  const t = await startServer({ path: chatTemplateModelPath(), alias: 'chatty', parallel: 1 });
  try {
    const c = new OpenAI({ baseURL: `${t.base}/v1`, apiKey: 'unused', maxRetries: 0 });
    const tok = t.model.tokenizer;
    const messages = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Tell a story' }];
    const r = await c.chat.completions.create({ model: 'chatty', messages, max_tokens: 12, temperature: 0 });
    const ids = tok.encode('<s>system: Be brief.\nuser: Tell a story\nassistant:', { parseSpecial: true, addBos: false });
    assert.equal(ids[0], tok.bosId);
    assert.equal(r.usage!.prompt_tokens, ids.length);
    assert.equal(r.choices[0].message.content, (await reference(t.model, ids, { maxTokens: 12 })).text);
    const pre = await c.chat.completions.create({ model: 'chatty', messages: [...messages, { role: 'assistant', content: ' Once' }], max_tokens: 8, temperature: 0 });
    const preIds = tok.encode('<s>system: Be brief.\nuser: Tell a story\nassistant: Once', { parseSpecial: true, addBos: false });
    assert.equal(pre.usage!.prompt_tokens, preIds.length);
    assert.equal(pre.choices[0].message.content, (await reference(t.model, preIds, { maxTokens: 8 })).text);
  } finally {
    await t.close();
  }
});
