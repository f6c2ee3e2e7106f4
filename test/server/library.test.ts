// The library's routes through the official clients: ollama (list, show, copy, create, delete) and openai
// (models.list, models.retrieve, checked against OpenAI's OpenAPI schema), on loopback over a temp models folder
// and catalog holding a copy of stories260K.gguf; no model is loaded. Measured: ~1.5 s alone.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { Ajv } from 'ajv';
import type { FastifyInstance } from 'fastify';
import { sharedPath, SHARED_DIR } from '../shared.ts';
import { createApp } from '../../src/server/app.ts';
import { ModelManager } from '../../src/provider/model-manager.ts';
import { Library } from '../../src/library/library.ts';

const home = mkdtempSync(join(tmpdir(), 'hearth-lib-routes-'));
const dir = join(home, 'models');
const file = join(dir, 'stories.gguf');
let app: FastifyInstance, base = '', library: Library;
const removed: string[] = [];

before(async () => {
  mkdirSync(dir);
  copyFileSync(sharedPath('models', 'stories260K.gguf'), file);
  library = Library.open({ HEARTH_HOME: home, HEARTH_MODELS: dir });
  app = createApp({ models: new ModelManager({ source: library, load: () => Promise.reject(new Error('no loads here')) }), libraryRoutes: { onRemoved: (n) => { removed.push(n); } } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
after(async () => { await app.close(); library.close(); rmSync(home, { recursive: true, force: true }); });

test('ollama: list, show, copy, create, delete', async () => {
  const ollama = new Ollama({ host: base });
  const tags = await ollama.list();
  assert.equal(tags.models.length, 1);
  const t = tags.models[0]!;
  assert.equal(t.name, 'stories:latest');
  assert.equal(t.digest, '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d');
  assert.equal(t.size, 1185376);
  assert.equal(t.details.family, 'llama');

  await ollama.copy({ source: 'stories', destination: 'tales' });
  await assert.rejects(ollama.copy({ source: 'stories', destination: 'tales:latest' }), /already exists/);
  const created = await ollama.create({ model: 'teller', from: 'tales', system: 'Tell a story.', parameters: { temperature: 0.7, stop: ['The end'] } });
  assert.equal(created.status, 'success');
  const stream = await ollama.create({ model: 'teller2', from: 'teller', stream: true });
  const statuses: string[] = [];
  for await (const ev of stream) statuses.push(ev.status);
  assert.equal(statuses.at(-1), 'success');
  await assert.rejects(ollama.create({ model: 'bad', from: 'tales', parameters: { temprature: 1 } }), /unknown parameter/);

  const shown = await ollama.show({ model: 'teller' });
  assert.equal(shown.parameters, 'temperature 0.7\nstop "The end"');
  assert.equal((shown as unknown as { system: string }).system, 'Tell a story.');
  assert.match(shown.modelfile, /FROM tales\nSYSTEM """Tell a story."""\nPARAMETER temperature 0.7\n/);
  assert.equal((shown.model_info as unknown as Record<string, unknown>)['general.architecture'], 'llama');
  assert.equal(shown.details.parent_model, 'tales');
  await assert.rejects(ollama.show({ model: 'storis' }), /did you mean "stories"/);

  assert.deepEqual((await ollama.list()).models.map((m) => m.name), ['stories:latest', 'tales:latest', 'teller:latest', 'teller2:latest']);
  for (const n of ['teller2', 'teller', 'tales']) await ollama.delete({ model: n });
  assert.ok(existsSync(file));
  await ollama.delete({ model: 'stories' });
  assert.ok(!existsSync(file));
  assert.deepEqual(removed, ['teller2', 'teller', 'tales', 'stories']);
  await assert.rejects(ollama.delete({ model: 'stories' }), /not found/);
  const push = await fetch(`${base}/api/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"x"}' });
  assert.equal(push.status, 501);
  assert.match(((await push.json()) as { error: string }).error, /does not publish/);
  copyFileSync(sharedPath('models', 'stories260K.gguf'), file);
});

test('ollama: a pulled model whose preset came with it (registry params and system) shows no parent, and its capabilities', async () => {
  const ollama = new Ollama({ host: base });
  library.record({ path: file, name: 'stories:260k', source: 'ollama.com/library/stories:260k', preset: { from: 'stories:260k', system: 'Tell stories.' } });
  const shown = await ollama.show({ model: 'stories:260k' });
  assert.equal(shown.details.parent_model, '');
  assert.equal(shown.system, 'Tell stories.');
  assert.deepEqual(shown.capabilities, ['completion', 'embedding']);
  // the record took over the file's dropped-in listing, so deleting it deletes the file; put it back for the next test
  await ollama.delete({ model: 'stories:260k' });
  assert.ok(!existsSync(file));
  copyFileSync(sharedPath('models', 'stories260K.gguf'), file);
});

test('openai: models.list and models.retrieve match the OpenAPI schema; an unknown id is a 404 model_not_found', async () => {
  const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'none' });
  const spec = JSON.parse(readFileSync(join(SHARED_DIR, 'api-specs', 'openai-openapi.subset.json'), 'utf8')) as { components: { schemas: Record<string, unknown> } };
  const ajv = new Ajv({ strict: false, formats: { unixtime: true, date: true } });
  for (const [k, s] of Object.entries(spec.components.schemas)) ajv.addSchema(s as object, `#/components/schemas/${k}`);
  const listRes = await (await fetch(`${base}/v1/models`)).json();
  assert.ok(ajv.validate('#/components/schemas/ListModelsResponse', listRes), ajv.errorsText());
  const list = await openai.models.list();
  assert.deepEqual(list.data.map((m) => m.id), ['stories']);
  const one = await openai.models.retrieve('stories');
  assert.ok(ajv.validate('#/components/schemas/Model', one), ajv.errorsText());
  assert.equal(one.owned_by, 'hearth');
  await assert.rejects(openai.models.retrieve('nope'), (e: { status?: number; code?: string }) => e.status === 404 && e.code === 'model_not_found');
});
