// Structured output through the official clients against a live server over stories260K with a chat template:
// OpenAI response_format json_schema (strict) and json_object, chat.completions.parse with a zod schema, Ollama
// format (a schema and "json"), llama-server's grammar and json_schema fields; each answer parses and validates
// against its schema (ajv). A weak model still gives valid output: the grammar decides what it may say.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { Ollama } from 'ollama';
import { Ajv } from 'ajv';
import { startServer, chatTemplateModelPath, type TestServer } from './harness.ts';

let srv: TestServer;
let openai: OpenAI;
let ollama: Ollama;
const ajv = new Ajv({ strict: false });
const MODEL = 'shaped';

before(async () => {
  srv = await startServer({ path: chatTemplateModelPath(), alias: MODEL, parallel: 2 });
  openai = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'unused', maxRetries: 0 });
  ollama = new Ollama({ host: srv.base });
});
after(() => srv.close());

const PERSON = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 12 },
    age: { type: 'integer', minimum: 0, maximum: 130 },
    mood: { enum: ['happy', 'sad', 'sleepy'] },
    tags: { type: 'array', items: { type: 'string', maxLength: 6 }, maxItems: 3 },
  },
  required: ['name', 'age', 'mood'],
  additionalProperties: false,
} as const;

const messages = [{ role: 'user' as const, content: 'Tell me about Lily.' }];

test('openai json_schema (strict): the content is an object of the schema, finish_reason stop', async () => {
  const validate = ajv.compile(PERSON);
  for (const seed of [1, 2, 3]) {
    const r = await openai.chat.completions.create({
      model: MODEL, messages, max_tokens: 400, temperature: 0.9, seed,
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema: PERSON, strict: true } },
    });
    const text = r.choices[0]!.message.content ?? '';
    assert.equal(r.choices[0]!.finish_reason, 'stop', text);
    const value = JSON.parse(text);
    assert.ok(validate(value), `${text}: ${JSON.stringify(validate.errors)}`);
  }
});

test('openai chat.completions.parse with a zod schema gives message.parsed', async () => {
  const Answer = z.object({ verdict: z.enum(['yes', 'no']), confidence: z.number().int().min(0).max(9) });
  const r = await openai.chat.completions.parse({
    model: MODEL, messages, max_tokens: 200, temperature: 0, response_format: zodResponseFormat(Answer, 'answer'),
  });
  const parsed = r.choices[0]!.message.parsed;
  assert.ok(parsed, r.choices[0]!.message.content ?? '');
  assert.ok(['yes', 'no'].includes(parsed.verdict));
});

test('openai json_object: any JSON object', async () => {
  const r = await openai.chat.completions.create({ model: MODEL, messages, max_tokens: 300, temperature: 0, response_format: { type: 'json_object' } });
  const choice = r.choices[0]!;
  if (choice.finish_reason === 'stop') {
    const v = JSON.parse(choice.message.content ?? '');
    assert.equal(typeof v, 'object');
    assert.ok(v !== null && !Array.isArray(v));
  } else {
    // cut by max_tokens: what there is is still the start of an object
    assert.match(choice.message.content ?? '', /^\s*\{/);
  }
});

test('ollama format: a schema, and "json"', async () => {
  const validate = ajv.compile(PERSON);
  const r = await ollama.chat({ model: MODEL, messages, format: PERSON, stream: false, options: { temperature: 0, num_predict: 400 } });
  assert.equal(r.done_reason, 'stop', r.message.content);
  assert.ok(validate(JSON.parse(r.message.content)), r.message.content);
  const g = await ollama.generate({ model: MODEL, prompt: 'Lily', format: 'json', stream: false, options: { temperature: 0, num_predict: 300 } });
  const text = g.response ?? '';
  if (g.done_reason === 'stop') assert.equal(typeof JSON.parse(text), 'object');
  else assert.match(text, /^\s*\{/);
});

test('llama-server fields: grammar (GBNF) and json_schema', async () => {
  const post = async (body: unknown) => {
    const res = await fetch(`${srv.base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: await res.json() as any };
  };
  for (const seed of [4, 5, 6]) {
    const r = await post({ model: MODEL, messages, max_tokens: 20, temperature: 1, seed, grammar: 'root ::= ("yes" | "no") "!"' });
    assert.equal(r.status, 200);
    assert.match(r.json.choices[0].message.content, /^(yes|no)!$/);
    assert.equal(r.json.choices[0].finish_reason, 'stop');
  }
  const s = await post({ model: MODEL, messages, max_tokens: 100, temperature: 0, json_schema: { type: 'array', items: { type: 'boolean' }, minItems: 2, maxItems: 2 } });
  const arr = JSON.parse(s.json.choices[0].message.content);
  assert.ok(Array.isArray(arr) && arr.length === 2 && arr.every((b: unknown) => typeof b === 'boolean'), s.json.choices[0].message.content);
});

test('a bad grammar, an unsupported schema keyword and a nameless json_schema are 400s naming the field', async () => {
  const post = async (body: unknown) => {
    const res = await fetch(`${srv.base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, messages, ...(body as object) }) });
    return { status: res.status, json: await res.json() as any };
  };
  const bad = await post({ grammar: 'root ::= "unterminated' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.param, 'grammar');
  assert.match(bad.json.error.message, /line 1/);
  const kw = await post({ response_format: { type: 'json_schema', json_schema: { name: 'n', schema: { type: 'number', multipleOf: 3 } } } });
  assert.equal(kw.status, 400);
  assert.match(kw.json.error.message, /multipleOf/);
  const nameless = await post({ response_format: { type: 'json_schema', json_schema: { schema: { type: 'object' } } } });
  assert.equal(nameless.status, 400);
  assert.equal(nameless.json.error.param, 'response_format.json_schema.name');
  const both = await post({ response_format: { type: 'json_object' }, grammar: 'root ::= "x"' });
  assert.equal(both.status, 400);
});
