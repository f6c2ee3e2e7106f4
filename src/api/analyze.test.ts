// The analysis service's bodies: JSON and multipart forms read into one request, the checks each field gets, and
// an analysis as a native chat request (the image, a line break, the prompt) with the format's grammar.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analysisJson, analyzeFormBody, analyzeNative, readAnalyzeRequest, readBatchRequest, optionsFromStored, storedOptions, DEFAULT_ANALYZE_MAX_TOKENS } from './analyze.ts';
import { IMAGE_MARKER } from './images.ts';

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2]);
const B64 = Buffer.from(PNG).toString('base64');

test('JSON: base64 or a data URL; numbers, prompt and model checked; a format becomes a grammar', () => {
  const r = readAnalyzeRequest({ image: B64, prompt: 'What?', model: 'm', max_tokens: 9, temperature: 0.5, format: { type: 'object', properties: { a: { type: 'string' } } } });
  assert.deepEqual([...r.image], [...PNG]);
  assert.equal(r.prompt, 'What?');
  assert.equal(r.maxTokens, 9);
  assert.equal(r.temperature, 0.5);
  assert.equal(r.format?.type, 'json_schema');
  assert.match(r.grammar!, /root ::=/);
  assert.deepEqual([...readAnalyzeRequest({ image: `data:image/png;base64,${B64}` }).image], [...PNG]);
  assert.equal(readAnalyzeRequest({ image: B64, format: 'json' }).format?.type, 'json_object');
  for (const [body, message] of [
    [{}, /image is required/], [{ image: 7 }, /image is required.*number 7/], [{ image: 'https://x/y.png' }, /fetches no URLs/],
    [{ image: B64, max_tokens: 0 }, /max_tokens/], [{ image: B64, temperature: 3 }, /temperature/], [{ image: B64, format: 3 }, /format/],
    [{ image: B64, extra: 1 }, /extra/],
  ] as const) assert.throws(() => readAnalyzeRequest(body), message);
});

test('multipart: the file part\'s bytes, numbers and the schema read from text, a field given twice refused', async () => {
  const form = new FormData();
  form.set('image', new Blob([PNG]), 'a.png');
  form.set('max_tokens', '12');
  form.set('temperature', '0');
  form.set('format', '{"type":"object"}');
  form.set('prompt', 'Say it.');
  const r = readAnalyzeRequest(await analyzeFormBody(form));
  assert.deepEqual([...r.image], [...PNG]);
  assert.deepEqual([r.maxTokens, r.temperature, r.prompt, r.format?.type], [12, 0, 'Say it.', 'json_schema']);
  const bad = new FormData();
  bad.set('image', new Blob([PNG]), 'a.png');
  bad.set('format', '{not json');
  await assert.rejects(analyzeFormBody(bad), /format must be "json" or a JSON schema/);
  const twice = new FormData();
  twice.append('image', new Blob([PNG]), 'a.png');
  twice.append('image', new Blob([PNG]), 'b.png');
  await assert.rejects(analyzeFormBody(twice), /image is given twice/);
  const words = new FormData();
  words.set('image', B64);
  words.set('max_tokens', 'many');
  const w = await analyzeFormBody(words);
  assert.throws(() => readAnalyzeRequest(w), /max_tokens/);
});

test('an analysis is a chat request: the image, a line break, the prompt; options and format kept', () => {
  const n = analyzeNative('m', PNG, 'What?', { temperature: 0, grammar: 'root ::= "x"', format: { type: 'json_object' } });
  assert.equal(n.prompts[0]!.kind, 'chat');
  const msg = (n.prompts[0] as { messages: { content: string; images: { data: Uint8Array }[] }[] }).messages[0]!;
  assert.equal(msg.content, `${IMAGE_MARKER}\nWhat?`);
  assert.equal(msg.images[0]!.data, PNG);
  assert.deepEqual(n.sampling, { temperature: 0, grammar: 'root ::= "x"' });
  assert.equal(n.maxTokens, DEFAULT_ANALYZE_MAX_TOKENS);
  assert.deepEqual(n.format, { type: 'json_object' });
  const o = { maxTokens: 3, temperature: 1, format: { type: 'json_object' as const }, grammar: 'g' };
  assert.deepEqual(optionsFromStored(JSON.parse(JSON.stringify(storedOptions(o))) as Record<string, unknown>), o);
});

test('batch bodies: 1 to 1000 items, each an image and maybe a prompt; concurrency 1 to 64, default 4', () => {
  const b = readBatchRequest({ items: [{ image: B64 }, { image: B64, prompt: 'p' }], prompt: 'q', max_tokens: 5 });
  assert.equal(b.items.length, 2);
  assert.equal(b.items[1]!.prompt, 'p');
  assert.equal(b.concurrency, 4);
  assert.equal(b.maxTokens, 5);
  assert.throws(() => readBatchRequest({ items: [] }), /items/);
  assert.throws(() => readBatchRequest({ items: [{ image: B64 }], concurrency: 65 }), /concurrency/);
  assert.throws(() => readBatchRequest({ items: [{ image: B64 }, { image: '***' }] }), /items\[1\]\.image/);
  assert.throws(() => readBatchRequest({ items: Array.from({ length: 1001 }, () => ({ image: B64 })) }), /items/);
});

test('the answer in wire names', () => {
  assert.deepEqual(analysisJson({ id: 'an_1', model: 'm', provider: 'local', text: '{"a":1}', structured: { a: 1 }, image: { width: 2, height: 3, format: 'png' },
    inputTokens: 10, outputTokens: 4, durationMs: 12.3456 }), {
    id: 'an_1', model: 'm', provider: 'local', analysis: '{"a":1}', structured: { a: 1 }, image: { width: 2, height: 3, format: 'png' },
    usage: { input_tokens: 10, output_tokens: 4 }, duration_ms: 12.35,
  });
});
