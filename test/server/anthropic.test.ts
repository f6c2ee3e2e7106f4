// The Anthropic Messages API of `hearth serve`, used through the official `@anthropic-ai/sdk` client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startServer, reference, until, chatTemplateModelPath, type TestServer } from './harness.ts';

let srv: TestServer;
let client: Anthropic;

before(async () => {
  srv = await startServer({ path: chatTemplateModelPath(), alias: 'claude-hearth', parallel: 2 });
  client = new Anthropic({ baseURL: srv.base, apiKey: 'unused', maxRetries: 0 });
});
after(() => srv.close());

/** Sampling fields the Messages API accepts, which this SDK version's types leave out. */
const params = (p: Anthropic.MessageCreateParamsNonStreaming & { temperature?: number; top_p?: number; top_k?: number }) => p;

/** The test template renders "<s>role: content\n…assistant:". */
const rendered = (turns: [string, string][]) =>
  srv.model.tokenizer.encode(`<s>${turns.map(([r, c]) => `${r}: ${c}\n`).join('')}assistant:`, { parseSpecial: true, addBos: false });

test('messages.create: text, usage from the template-rendered prompt, stop_reason max_tokens', async () => {
  const r = await client.messages.create(params({
    model: 'claude-hearth', max_tokens: 12, temperature: 0, system: 'Be brief.',
    messages: [{ role: 'user', content: 'Tell a story' }],
  }));
  const ids = rendered([['system', 'Be brief.'], ['user', 'Tell a story']]);
  const want = await reference(srv.model, ids, { maxTokens: 12 });
  assert.equal(r.type, 'message');
  assert.equal(r.role, 'assistant');
  assert.match(r.id, /^msg_/);
  assert.deepEqual(r.content, [{ type: 'text', text: want.text }]);
  assert.equal(r.stop_reason, 'max_tokens');
  assert.equal(r.usage.input_tokens, ids.length);
  assert.equal(r.usage.output_tokens, 12);
});

test('content blocks and system blocks are joined; stop_sequences give stop_reason stop_sequence', async () => {
  const ids = rendered([['system', 'A B'], ['user', 'Once upon a time']]);
  const want = await reference(srv.model, ids, { maxTokens: 60, stop: ['.'] });
  assert.equal(want.reason, 'stop');
  const r = await client.messages.create(params({
    model: 'claude-hearth', max_tokens: 60, temperature: 0, stop_sequences: ['.'],
    system: [{ type: 'text', text: 'A ' }, { type: 'text', text: 'B' }],
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Once upon ' }, { type: 'text', text: 'a time' }] }],
  }));
  assert.equal((r.content[0] as { text: string }).text, want.text);
  assert.equal(r.stop_reason, 'stop_sequence');
  assert.equal(r.stop_sequence, '.');
});

test('streaming: the event sequence, text deltas and final usage', async () => {
  const stream = client.messages.stream(params({ model: 'claude-hearth', max_tokens: 10, temperature: 0, messages: [{ role: 'user', content: 'Hi' }] }));
  const types: string[] = [];
  let text = '';
  for await (const ev of stream) {
    types.push(ev.type);
    if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
  }
  const final = await stream.finalMessage();
  const want = await reference(srv.model, rendered([['user', 'Hi']]), { maxTokens: 10 });
  assert.equal(text, want.text);
  assert.deepEqual((final.content[0] as { text: string }).text, want.text);
  assert.equal(final.usage.output_tokens, 10);
  assert.equal(final.usage.input_tokens, rendered([['user', 'Hi']]).length);
  assert.equal(final.stop_reason, 'max_tokens');
  const distinct = types.filter((t, i) => t !== types[i - 1]);
  assert.deepEqual(distinct, ['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
});

test('count_tokens counts the rendered prompt', async () => {
  const r = await client.messages.countTokens({ model: 'claude-hearth', system: 'S', messages: [{ role: 'user', content: 'Hello there' }] });
  assert.equal(r.input_tokens, rendered([['system', 'S'], ['user', 'Hello there']]).length);
});

test('bad requests raise the SDK error types', async () => {
  await assert.rejects(client.messages.create({ model: 'nope', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof Anthropic.NotFoundError && (e.error as { error: { type: string } }).error.type === 'not_found_error');
  await assert.rejects(client.messages.create({ model: 'claude-hearth', max_tokens: 0, messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof Anthropic.BadRequestError && /max_tokens must be >= 1/.test(e.message));
  await assert.rejects(client.messages.create(params({ model: 'claude-hearth', max_tokens: 5, temperature: 1.5, messages: [{ role: 'user', content: 'x' }] })),
    (e) => e instanceof Anthropic.BadRequestError && /temperature/.test(e.message));
  await assert.rejects(client.messages.create({
    model: 'claude-hearth', max_tokens: 5, messages: [{ role: 'user', content: 'x' }],
    tools: [{ type: 'web_search_20250305', name: 'web_search' }],
  }), (e) => e instanceof Anthropic.BadRequestError && /only custom tools/.test(e.message));
  await assert.rejects(client.messages.create({
    model: 'claude-hearth', max_tokens: 5,
    messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] }],
  }), (e) => e instanceof Anthropic.BadRequestError && /model \\?"claude-hearth\\?" cannot read images/.test(e.message));
});

test('aborting a stream frees the slot', async () => {
  const stream = client.messages.stream(params({ model: 'claude-hearth', max_tokens: 1500, temperature: 0, messages: [{ role: 'user', content: 'Once' }] }));
  let n = 0;
  try {
    for await (const ev of stream) if (ev.type === 'content_block_delta' && ++n === 5) stream.abort();
  } catch (e) {
    assert.ok(e instanceof Anthropic.APIUserAbortError, String(e));
  }
  const sched = srv.host.ready();
  await until(() => sched.stats().busy === 0);
  assert.ok(n < 100);
});
