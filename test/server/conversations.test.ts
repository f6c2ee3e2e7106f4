// Conversations through the official client against a live server over stories260K with a chat template and a
// 512-token context: the Conversations API (create, retrieve, update, items, delete) checked against OpenAI's
// schemas; 30 turns of responses.create({conversation}) that outgrow the context and are compressed (the
// hearth-context header, every item kept, no prompt over the context, summaries written only when needed);
// the hearth-conversation header on chat completions, /api/chat and /v1/messages; keyword search; a context
// error when nothing is left to fold; keys owning conversations; recall; a separate summariser model.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Ajv } from 'ajv';
import { startServer, chatTemplateModelPath, type TestServer } from './harness.ts';
import { Database } from '../../src/store/database.ts';
import { ConversationStore } from '../../src/store/conversations.ts';
import { openStore } from '../../src/store/store.ts';
import { tempDir } from '../security/harness.ts';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/server/app.ts';
import { ModelManager } from '../../src/provider/model-manager.ts';
import { localProvider } from '../../src/provider/local-provider.ts';
import { canonicalName, describeFile } from '../../src/library/describe.ts';

const MODEL = 'chat';
const N_CTX = 512;

let srv: TestServer;
let openai: OpenAI;
let db: Database;
let store: ConversationStore;

const ajv = new Ajv({ strict: false, formats: { unixtime: true, uri: true, float: true } });
const spec = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'openai-conversations.schema.json'), 'utf8')) as
  { components: { schemas: Record<string, object> } };
for (const [k, s] of Object.entries(spec.components.schemas)) ajv.addSchema(s, `#/components/schemas/${k}`);
const conforms = (name: string, value: unknown) => {
  assert.ok(ajv.validate(`#/components/schemas/${name}`, value), `${name}: ${ajv.errorsText()}\n${JSON.stringify(value).slice(0, 1000)}`);
};

/** The server's log lines (the agent component's "conversation compressed" lines among them). */
const logLines: string[] = [];

before(async () => {
  db = Database.open(':memory:');
  store = new ConversationStore(db);
  srv = await startServer({
    path: chatTemplateModelPath(), alias: MODEL, nCtx: N_CTX, parallel: 1,
    app: { conversations: store, logger: { level: 'info', stream: { write: (line: string) => void logLines.push(line) } } },
  });
  openai = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(async () => {
  await srv.close();
  db.close();
});

async function allItems(id: string): Promise<OpenAI.Conversations.ConversationItem[]> {
  const out: OpenAI.Conversations.ConversationItem[] = [];
  for await (const item of openai.conversations.items.list(id, { order: 'asc', limit: 7 })) out.push(item);
  return out;
}

test('the Conversations API: create with items and metadata, retrieve, update, add, list, get and delete items, delete', async () => {
  const c = await openai.conversations.create({ metadata: { topic: 'cats' }, items: [{ type: 'message', role: 'user', content: 'Hello there.' }] });
  conforms('ConversationResource', c);
  assert.match(c.id, /^conv_\w+$/);
  assert.deepEqual(c.metadata, { topic: 'cats' });
  assert.deepEqual(await openai.conversations.retrieve(c.id), c);
  const updated = await openai.conversations.update(c.id, { metadata: { topic: 'dogs' } });
  assert.deepEqual(updated.metadata, { topic: 'dogs' });
  assert.deepEqual((await openai.conversations.retrieve(c.id)).metadata, { topic: 'dogs' });

  const added = await openai.conversations.items.create(c.id, {
    items: [{ type: 'message', role: 'assistant', content: 'Hi!' }, { type: 'message', role: 'user', content: 'Tell me more.' }],
  });
  conforms('ConversationItemList', added);
  assert.equal(added.data.length, 2);
  const items = await allItems(c.id);
  assert.equal(items.length, 3);
  const ids = items.map((i) => i.id!);
  for (const i of items) conforms('ConversationItem', i);
  assert.deepEqual(items.map((i) => i.type === 'message' && i.role), ['user', 'assistant', 'user']);
  // newest first by default; limit and after page through
  const raw = await (await fetch(`${srv.base}/v1/conversations/${c.id}/items?limit=2`)).json();
  conforms('ConversationItemList', raw);
  const page = await openai.conversations.items.list(c.id, { limit: 2 });
  assert.deepEqual(page.data.map((i) => i.id), [items[2].id, items[1].id]);
  assert.equal(page.has_more, true);
  const next = await openai.conversations.items.list(c.id, { limit: 2, after: ids[1] });
  assert.deepEqual(next.data.map((i) => i.id), [items[0].id]);

  const one = await openai.conversations.items.retrieve(ids[1], { conversation_id: c.id });
  assert.deepEqual(one, items[1]);
  const after = await openai.conversations.items.delete(ids[1], { conversation_id: c.id });
  conforms('ConversationResource', after);
  assert.equal(after.id, c.id);
  assert.equal((await allItems(c.id)).length, 2);
  await assert.rejects(openai.conversations.items.retrieve(ids[1], { conversation_id: c.id }), (e) => e instanceof OpenAI.NotFoundError);

  const deleted = await openai.conversations.delete(c.id);
  conforms('DeletedConversationResource', deleted);
  assert.deepEqual(deleted, { id: c.id, object: 'conversation.deleted', deleted: true });
  await assert.rejects(openai.conversations.retrieve(c.id), (e) => e instanceof OpenAI.NotFoundError);
  await assert.rejects(openai.responses.create({ model: MODEL, input: 'x', conversation: c.id }), (e) => e instanceof OpenAI.NotFoundError);
  await assert.rejects(openai.responses.create({ model: MODEL, input: 'x', conversation: 'conv_x', previous_response_id: 'resp_y' }),
    (e) => e instanceof OpenAI.BadRequestError);
});

test('30 turns of responses.create({conversation}) on a 512-token context: compressed, complete, never over the context', async () => {
  const c = await openai.conversations.create();
  const outputIds: string[] = [];
  const inputs: string[] = [];
  let compressed = 0;
  let reused = 0;
  let written = 0;
  for (let turn = 0; turn < 30; turn++) {
    const text = turn === 3 ? 'The zeppelin landed in the garden.' : `Tell me about the cat named Tom number ${turn}.`;
    inputs.push(text);
    const before = store.summaries(c.id).length;
    const { data: r, response } = await openai.responses.create({
      model: MODEL, conversation: c.id, input: text, max_output_tokens: 12, temperature: 0,
    }).withResponse();
    assert.deepEqual(r.conversation, { id: c.id });
    assert.ok(r.usage!.input_tokens + r.usage!.output_tokens < N_CTX, `turn ${turn}: ${r.usage!.input_tokens} + ${r.usage!.output_tokens}`);
    assert.ok(r.usage!.input_tokens <= Math.floor(N_CTX * 0.75) - 12, `turn ${turn}: ${r.usage!.input_tokens} over the budget`);
    outputIds.push(...r.output.map((o) => o.id!));
    const header = response.headers.get('hearth-context');
    if (process.env.DEBUG_CONV) console.log(turn, r.usage!.input_tokens, header);
    const now = store.summaries(c.id).length;
    if (header === null) {
      assert.equal(now, 0, `turn ${turn}: a summary exists, but the header does not say so`);
      continue;
    }
    compressed++;
    const fields = Object.fromEntries(header.split('; ').map((kv) => kv.split('=')));
    assert.ok(Number(fields.summarised_turns) > 0 && Number(fields.tokens_saved) > 0, header);
    // the header counts what this request wrote; a turn that fit with the stored summary wrote none
    assert.equal(Number(fields.summaries_written), now - before, header);
    written += now - before;
    if (now === before) reused++;
  }
  assert.ok(compressed > 0, 'the conversation never needed compression');
  assert.ok(reused > 0, 'every compressed turn wrote a new summary');
  assert.ok(written < compressed, `${written} summaries for ${compressed} compressed turns`);
  // each request that wrote summaries says so in the agent component's log
  const agent = logLines.map((l) => JSON.parse(l) as { component?: string; msg: string; conversation?: string; summaries_written?: number })
    .filter((l) => l.component === 'agent' && l.conversation === c.id);
  assert.ok(agent.every((l) => l.msg === 'conversation compressed'));
  assert.equal(agent.reduce((n, l) => n + l.summaries_written!, 0), written);
  // each summary folds in a span after the one before it: the previous summary and that span only
  const summaries = store.summaries(c.id);
  for (let i = 1; i < summaries.length; i++) assert.ok(summaries[i].fromSeq > summaries[i - 1].throughSeq);

  // nothing was dropped: every input and output item is in the conversation, in order
  const items = await allItems(c.id);
  assert.equal(items.length, 60);
  const texts = items.filter((i) => i.type === 'message' && i.role === 'user')
    .map((i) => (i.type === 'message' && i.content[0].type === 'input_text' ? i.content[0].text : ''));
  assert.deepEqual(texts, inputs);
  for (const id of outputIds) assert.ok(items.some((i) => i.id === id), `output item ${id} missing`);

  // recall: the planted word's message first
  const found = await (await fetch(`${srv.base}/v1/conversations/${c.id}/search?q=zeppelin+garden`)).json() as
    { data: { rank: number; type: string; item?: { content: { text: string }[] } }[] };
  assert.equal(found.data[0].rank, 1);
  assert.equal(found.data[0].type, 'item');
  assert.equal(found.data[0].item!.content[0].text, 'The zeppelin landed in the garden.');
});

test('hearth-conversation on chat completions, /api/chat and /v1/messages: the history goes first, each turn is appended', async () => {
  const c = await openai.conversations.create();
  const headers = { 'hearth-conversation': c.id };
  const first = await openai.chat.completions.create({
    model: MODEL, max_tokens: 8, temperature: 0, messages: [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'Hi.' }],
  }, { headers });
  const a1 = first.choices[0].message.content!;
  const tokens = (messages: { role: string; content: string }[]) => srv.host.ready().tokenize({ kind: 'chat', messages }).length;
  const history = [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'Hi.' }, { role: 'assistant', content: a1 }];

  const ollama = await (await fetch(`${srv.base}/api/chat`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: MODEL, stream: false, messages: [{ role: 'user', content: 'Once upon a time.' }], options: { num_predict: 8, temperature: 0 } }),
  })).json() as { message: { content: string }; prompt_eval_count: number };
  history.push({ role: 'user', content: 'Once upon a time.' });
  assert.equal(ollama.prompt_eval_count, tokens(history));
  history.push({ role: 'assistant', content: ollama.message.content });

  const res = await fetch(`${srv.base}/v1/messages`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
    body: JSON.stringify({ model: MODEL, max_tokens: 8, temperature: 0, stream: true, messages: [{ role: 'user', content: 'The end.' }] }),
  });
  const sse = await res.text();
  assert.match(sse, /message_stop/);
  history.push({ role: 'user', content: 'The end.' });
  const input = Number(/"input_tokens":(\d+)/.exec(sse)![1]);
  assert.equal(input, tokens(history));

  // and a streamed response in the same conversation sees all of it
  const stream = await openai.responses.create({ model: MODEL, conversation: c.id, input: 'Again.', max_output_tokens: 4, temperature: 0, stream: true });
  let done: OpenAI.Responses.Response | undefined;
  for await (const e of stream) if (e.type === 'response.completed' || e.type === 'response.incomplete') done = e.response;
  assert.ok(done);

  const items = await allItems(c.id);
  // the system prompt is kept once; each turn adds its user message and the answer
  assert.deepEqual(items.map((i) => i.type === 'message' && i.role),
    ['system', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
  assert.equal(items.at(-1)!.id, done.output.at(-1)!.id);
  const answer = items[6];
  assert.ok(answer.type === 'message' && answer.content[0].type === 'output_text' && answer.content[0].text.length > 0);
  // the streamed answer's prompt was the whole conversation before it
  const stored = items.slice(0, 7).map((i) => ({ role: i.type === 'message' ? i.role : '', content: i.type === 'message' ? i.content.map((p) => ('text' in p ? p.text : '')).join('') : '' }));
  assert.equal(done.usage!.input_tokens, tokens([...stored, { role: 'user', content: 'Again.' }]));

  // an unknown conversation is a 404 in each dialect's shape
  const missing = await fetch(`${srv.base}/api/chat`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'hearth-conversation': 'conv_none' },
    body: JSON.stringify({ model: MODEL, stream: false, messages: [{ role: 'user', content: 'x' }] }),
  });
  assert.equal(missing.status, 404);
  assert.match(((await missing.json()) as { error: string }).error, /conv_none/);
});

test('a turn that cannot fit even with the history summarised is a context error, and nothing is appended', async () => {
  const c = await openai.conversations.create();
  const long = 'The little cat ran and ran. '.repeat(80);
  await assert.rejects(openai.responses.create({ model: MODEL, conversation: c.id, input: long, max_output_tokens: 8 }),
    (e) => e instanceof OpenAI.BadRequestError && /budget/.test(e.message) && (e.error as { code?: string }).code === 'context_length_exceeded');
  await assert.rejects(openai.chat.completions.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: long }] },
    { headers: { 'hearth-conversation': c.id } }), (e) => e instanceof OpenAI.BadRequestError);
  assert.equal((await allItems(c.id)).length, 0);
});

test('with API keys: a conversation is seen, continued and deleted only with the key that created it', async () => {
  const keys = openStore(join(tempDir(), 'hearth.db'));
  const keyed = await startServer({ path: chatTemplateModelPath(), alias: MODEL, nCtx: N_CTX, parallel: 1,
    app: { security: { keys: keys.keys }, responses: keys.responses, conversations: keys.conversations } });
  try {
    const secretA = keys.keys.create({ name: 'a' }).secret;
    const a = new OpenAI({ baseURL: `${keyed.base}/v1`, apiKey: secretA, maxRetries: 0 });
    const b = new OpenAI({ baseURL: `${keyed.base}/v1`, apiKey: keys.keys.create({ name: 'b' }).secret, maxRetries: 0 });
    const c = await a.conversations.create({ items: [{ role: 'user', content: 'Hi.' }] });
    const notFound = (e: unknown) => e instanceof OpenAI.NotFoundError;
    await assert.rejects(b.conversations.retrieve(c.id), notFound);
    await assert.rejects(b.conversations.items.list(c.id), notFound);
    await assert.rejects(b.conversations.items.create(c.id, { items: [{ role: 'user', content: 'x' }] }), notFound);
    await assert.rejects(b.responses.create({ model: MODEL, input: 'x', conversation: c.id, max_output_tokens: 2 }), notFound);
    await assert.rejects(b.chat.completions.create({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'hearth-conversation': c.id } }), notFound);
    await assert.rejects(b.conversations.delete(c.id), notFound);
    await a.responses.create({ model: MODEL, input: 'Go on.', conversation: c.id, max_output_tokens: 2 });
    const search = await fetch(`${keyed.base}/v1/conversations/${c.id}/search?q=go`, { headers: { authorization: `Bearer ${secretA}` } });
    assert.equal(((await search.json()) as { data: unknown[] }).data.length, 1);
    assert.equal((await a.conversations.items.list(c.id)).data.length, 3);
    assert.equal((await a.conversations.delete(c.id)).deleted, true);
  } finally {
    await keyed.close();
    keys.close();
  }
});

test('recall, when the conversation\'s metadata asks for it: a compressed-away message matching the input comes back before the recent turns', async () => {
  const c = await openai.conversations.create({ metadata: { hearth_recall: '1' } });
  await openai.responses.create({ model: MODEL, conversation: c.id, input: 'The zeppelin is red.', max_output_tokens: 12, temperature: 0 });
  for (let turn = 1; turn < 10; turn++) {
    await openai.responses.create({ model: MODEL, conversation: c.id, input: `Tell me about the cat named Tom number ${turn}.`, max_output_tokens: 12, temperature: 0 });
  }
  const summary = store.latestSummary(c.id);
  assert.ok(summary, 'ten turns were not compressed');
  const { data: r, response } = await openai.responses.create({
    model: MODEL, conversation: c.id, input: 'What colour is the zeppelin?', max_output_tokens: 4, temperature: 0,
  }).withResponse();
  assert.match(response.headers.get('hearth-context') ?? '', /; recalled=1$/);
  // the item recall takes is search's first for the input's words: the zeppelin message, summarised away
  const through = store.latestSummary(c.id)!.throughSeq;
  const hit = store.search(c.id, 'What colour is the zeppelin?', 10).find((h) => h.item && h.item.seq <= through);
  assert.equal((hit?.item?.item as { content: { text: string }[] }).content[0].text, 'The zeppelin is red.');
  assert.ok(r.usage!.input_tokens <= Math.floor(N_CTX * 0.75) - 4);
  // without the metadata, no recall
  await openai.conversations.update(c.id, { metadata: {} });
  const { response: plain } = await openai.responses.create({
    model: MODEL, conversation: c.id, input: 'What colour is the zeppelin?', max_output_tokens: 4, temperature: 0,
  }).withResponse();
  assert.doesNotMatch(plain.headers.get('hearth-context') ?? '', /recalled/);
});

test('--summary-model: summaries are written by the model named for them, leased like any request', async () => {
  const path = chatTemplateModelPath();
  const entries = ['talker', 'summariser'].map((name) => describeFile(path, { name }));
  const models = new ModelManager({
    source: { list: () => entries, get: (n) => entries.find((e) => e.name === canonicalName(n)) },
    load: (m) => localProvider({ path, load: { nCtx: N_CTX } }, { alias: m.name, scheduler: { parallel: 1, queueLimit: 4 } })(),
    keepAliveMs: -1,
  });
  const app = createApp({ models, conversations: store, conversation: { summaryModel: 'summariser' } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const { port } = app.server.address() as AddressInfo;
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'unused', maxRetries: 0 });
    const c = await client.conversations.create();
    for (let turn = 0; turn < 9; turn++) {
      await client.responses.create({ model: 'talker', conversation: c.id, input: `Tell me about the cat named Tom number ${turn}.`, max_output_tokens: 12, temperature: 0 });
    }
    const summaries = store.summaries(c.id);
    assert.ok(summaries.length > 0);
    assert.ok(summaries.every((s) => s.model === 'summariser'), JSON.stringify(summaries.map((s) => s.model)));
  } finally {
    await app.close();
  }
});
