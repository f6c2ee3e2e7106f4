// The Responses API's file_search tool through the openai client: the passages retrieved from a vector store go into
// the prompt (the prompt grows by them), the output starts with a file_search_call item (its results with
// include: ["file_search_call.results"]), and the answer's text carries file_citation annotations naming the
// files. stories260K (chat template added) is both the chat model and, mean-pooled, the embedding model.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { chatTemplateModelPath, startServer, type TestServer } from './harness.ts';
import { tempDir } from '../security/harness.ts';
import { Database } from '../../src/store/database.ts';
import { KnowledgeBase } from '../../src/knowledge/knowledge-base.ts';
import { modelEmbedders } from '../../src/server/routes/knowledge.ts';
import type { ModelManager } from '../../src/provider/model-manager.ts';

const MODEL = 'stories-chat';
let srv: TestServer;
let db: Database;
let kb: KnowledgeBase;
let client: OpenAI;

before(async () => {
  db = Database.open(join(tempDir('hearth-fs-'), 'hearth.db'));
  const models: { m?: ModelManager } = {};
  kb = new KnowledgeBase(db, { embedders: (name) => modelEmbedders(models.m!)(name) });
  srv = await startServer({ path: chatTemplateModelPath(), alias: MODEL, app: { knowledge: kb } });
  models.m = srv.models;
  client = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'none', maxRetries: 0 });
});
after(async () => {
  await kb?.close();
  await srv?.close();
  db?.close();
});

test('file_search: passages in the prompt, a file_search_call item, file_citation annotations', async () => {
  const vs = await client.vectorStores.create({ name: 'tales', embedding_model: MODEL } as OpenAI.VectorStores.VectorStoreCreateParams);
  const ids: string[] = [];
  for (const [name, text] of [['cat.txt', 'The cat sat by the fire and slept all day.'], ['dog.txt', 'The dog ran in the park with a red ball.']]) {
    const f = await client.files.create({ file: await toFile(Buffer.from(text), name), purpose: 'assistants' });
    ids.push(f.id);
    assert.equal((await client.vectorStores.files.createAndPoll(vs.id, { file_id: f.id }, { pollIntervalMs: 20 })).status, 'completed');
  }
  const ask = { model: MODEL, input: 'Where did the cat sleep?', max_output_tokens: 4, temperature: 0 };
  const plain = await client.responses.create(ask);
  const r = await client.responses.create({
    ...ask, tools: [{ type: 'file_search', vector_store_ids: [vs.id], max_num_results: 2 }], include: ['file_search_call.results'],
  });
  assert.ok(r.usage!.input_tokens > plain.usage!.input_tokens + 20, `${r.usage!.input_tokens} vs ${plain.usage!.input_tokens} prompt tokens`);
  const [call, ...rest] = r.output;
  assert.equal(call.type, 'file_search_call');
  if (call.type !== 'file_search_call') return;
  assert.deepEqual(call.queries, ['Where did the cat sleep?']);
  assert.equal(call.status, 'completed');
  assert.deepEqual(new Set(call.results!.map((x) => x.file_id)), new Set(ids));
  assert.ok(call.results!.some((x) => x.text === 'The cat sat by the fire and slept all day.'));
  const message = rest.find((o) => o.type === 'message');
  assert.ok(message && message.type === 'message');
  const part = message.content[0];
  assert.equal(part.type, 'output_text');
  if (part.type !== 'output_text') return;
  const cited = part.annotations.filter((a) => a.type === 'file_citation');
  assert.deepEqual(new Set(cited.map((a) => a.type === 'file_citation' && a.file_id)), new Set(ids));
  assert.ok(cited.every((a) => a.type === 'file_citation' && a.index === part.text.length && ['cat.txt', 'dog.txt'].includes(a.filename)));
  // Without include the results stay out; a store that does not exist is a 404.
  const bare = await client.responses.create({ ...ask, tools: [{ type: 'file_search', vector_store_ids: [vs.id] }] });
  assert.equal(bare.output[0].type === 'file_search_call' && bare.output[0].results, null);
  await assert.rejects(client.responses.create({ ...ask, tools: [{ type: 'file_search', vector_store_ids: ['vs_nope'] }] }),
    (e: InstanceType<typeof OpenAI.NotFoundError>) => e.status === 404);
});
