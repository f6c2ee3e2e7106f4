// Images in every dialect against a live server over a synthetic language model with a synthetic mmproj (the LLaVA
// layout of llava-mtmd.test.ts): the openai client (image_url data URL), the ollama client (images on chat and on
// generate) and the Anthropic SDK (base64 image block), streamed and not, all give llama.cpp mtmd's greedy
// continuation of the same image and prompt. A text-only model asked about an image is a 400 naming it; bad images
// are 400s with a message, and the server stays up.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pngHeaderOnly } from '../fixtures/png.ts';
import OpenAI from 'openai';
import { Ollama } from 'ollama';
import Anthropic from '@anthropic-ai/sdk';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { createImageFetcher } from '../../src/provider/image-fetch.ts';
import { startServer, chatTemplateModelPath, type TestServer } from '../server/harness.ts';
import { syntheticModelPath } from '../fixtures/synthetic-model.ts';
import { syntheticMmprojPath } from '../fixtures/synthetic-mmproj.ts';
import { mtmdUnavailableReason, runMtmd } from '../reference/mtmd.ts';
import { REPO_ROOT } from '../shared.ts';
import { mkdirSync, writeFileSync } from 'node:fs';

const LM = { nEmbd: 128, nLayer: 2, nHead: 4, nHeadKv: 4, nFF: 256 } as const;
const MODEL = 'llava-test';
const QUESTION = 'What is in the picture?';
const N = 10;
let srv: TestServer;
let textOnly: TestServer;
let png: Buffer;
let b64: string;
let want: string;

before(async () => {
  const px = Buffer.alloc(48 * 40 * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 29 + (i >> 8) * 13) & 255;
  png = await sharp(px, { raw: { width: 48, height: 40, channels: 3 } }).png().toBuffer();
  b64 = png.toString('base64');
  const mmproj = syntheticMmprojPath({ nEmbdOut: LM.nEmbd });
  const lm = syntheticModelPath(LM);
  srv = await startServer({ path: lm, alias: MODEL, mmproj, parallel: 2, nCtx: 256 });
  textOnly = await startServer({ path: chatTemplateModelPath(), alias: 'stories', parallel: 1 });
  // the expected text: llama.cpp mtmd on the same files, image and prompt (the model has no chat template, so the
  // prompt is the message as it is: the image, a line break, the question)
  if (mtmdUnavailableReason() === null) {
    const dir = join(REPO_ROOT, 'test', '.cache', 'vision');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'server-48x40.png');
    writeFileSync(file, png);
    want = runMtmd({ model: lm, mmproj, prompt: `<__media__>\n${QUESTION}`, images: [file], nPredict: N }).text;
  } else {
    const r = await fetch(`${srv.base}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: N, temperature: 0, messages: [{ role: 'user', content: [
        { type: 'image_url', image_url: { url: `data:image/png;base64,${b64}` } }, { type: 'text', text: `\n${QUESTION}` }] }] }),
    });
    want = ((await r.json()) as { choices: { message: { content: string } }[] }).choices[0].message.content;
  }
  assert.ok(want.length > 0);
});
after(async () => {
  await srv?.close();
  await textOnly?.close();
});

test('the model card says vision (and the text-only model\'s does not)', async () => {
  const show = async (s: TestServer, model: string) =>
    (await (await fetch(`${s.base}/api/show`, { method: 'POST', body: JSON.stringify({ model }), headers: { 'content-type': 'application/json' } })).json()) as { capabilities: string[] };
  assert.ok((await show(srv, MODEL)).capabilities.includes('vision'));
  assert.ok(!(await show(textOnly, 'stories')).capabilities.includes('vision'));
});

test('openai: an image_url data URL, streamed and not, gives llama.cpp mtmd\'s greedy text', async () => {
  const client = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'unused', maxRetries: 0 });
  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: [
    { type: 'image_url', image_url: { url: `data:image/png;base64,${b64}` } }, { type: 'text', text: `\n${QUESTION}` }] }];
  const r = await client.chat.completions.create({ model: MODEL, messages, max_tokens: N, temperature: 0 });
  assert.equal(r.choices[0].message.content, want);
  let streamed = '';
  for await (const c of await client.chat.completions.create({ model: MODEL, messages, max_tokens: N, temperature: 0, stream: true })) {
    streamed += c.choices[0]?.delta?.content ?? '';
  }
  assert.equal(streamed, want);
});

test('ollama: images on chat and on generate, streamed and not', async () => {
  const ollama = new Ollama({ host: srv.base });
  const options = { temperature: 0, num_predict: N };
  const chat = await ollama.chat({ model: MODEL, messages: [{ role: 'user', content: QUESTION, images: [b64] }], options, stream: false });
  assert.equal(chat.message.content, want);
  let streamed = '';
  for await (const part of await ollama.chat({ model: MODEL, messages: [{ role: 'user', content: QUESTION, images: [b64] }], options, stream: true })) {
    streamed += part.message.content;
  }
  assert.equal(streamed, want);
  const gen = await ollama.generate({ model: MODEL, prompt: QUESTION, images: [b64], options, stream: false });
  assert.equal(gen.response, want);
  let genStreamed = '';
  for await (const part of await ollama.generate({ model: MODEL, prompt: QUESTION, images: [new Uint8Array(png)], options, stream: true })) genStreamed += part.response;
  assert.equal(genStreamed, want);
});

test('anthropic: a base64 image block, streamed and not', async () => {
  const client = new Anthropic({ baseURL: srv.base, apiKey: 'unused', maxRetries: 0 });
  const messages: Anthropic.MessageParam[] = [{ role: 'user', content: [
    { type: 'image', source: { type: 'base64', media_type: 'image/png', data: b64 } }, { type: 'text', text: `\n${QUESTION}` }] }];
  // the SDK's types lack temperature in this version; the server reads it
  const params = (p: Anthropic.MessageCreateParamsNonStreaming & { temperature?: number }) => p;
  const r = await client.messages.create(params({ model: MODEL, max_tokens: N, temperature: 0, messages }));
  assert.equal(r.content.map((b) => (b.type === 'text' ? b.text : '')).join(''), want);
  let streamed = '';
  const stream = client.messages.stream(params({ model: MODEL, max_tokens: N, temperature: 0, messages }));
  for await (const ev of stream) if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') streamed += ev.delta.text;
  assert.equal(streamed, want);
});

async function post(s: TestServer, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const r = await fetch(`${s.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, text: await r.text() };
}

test('a text-only model asked about an image is a 400 naming the model, in every dialect', async () => {
  const image = { type: 'image_url', image_url: { url: `data:image/png;base64,${b64}` } };
  for (const [path, body] of [
    ['/v1/chat/completions', { model: 'stories', messages: [{ role: 'user', content: [image, { type: 'text', text: 'hi' }] }], max_tokens: 2 }],
    ['/api/chat', { model: 'stories', messages: [{ role: 'user', content: 'hi', images: [b64] }], stream: false }],
    ['/api/generate', { model: 'stories', prompt: 'hi', images: [b64], stream: false }],
    ['/v1/messages', { model: 'stories', max_tokens: 2, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: b64 } }] }] }],
  ] as const) {
    const r = await post(textOnly, path, body);
    assert.equal(r.status, 400, `${path}: ${r.text}`);
    assert.match(r.text, /model \\?"stories\\?" cannot read images/, path);
  }
});

test('bad images are 400s with a message and the server stays up', async () => {
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>');
  const cases: [string, string, RegExp][] = [
    ['not an image', Buffer.from('just some text, not pixels').toString('base64'), /not an image/],
    ['truncated', png.subarray(0, png.length >> 1).toString('base64'), /could not be decoded|not an image/],
    ['decompression bomb', pngHeaderOnly(30000, 30000).toString('base64'), /more than the limit/],
    ['unsupported format (SVG)', svg.toString('base64'), /not supported|not an image/],
    ['not base64', '***', /not base64/],
  ];
  for (const [name, data, message] of cases) {
    const r = await post(srv, '/api/chat', { model: MODEL, messages: [{ role: 'user', content: 'hi', images: [data] }], stream: false });
    assert.equal(r.status, 400, `${name}: ${r.text}`);
    assert.match(r.text, message, name);
  }
  // a body over the limit (100 MB of base64) is refused before it is read whole
  const big = await fetch(`${srv.base}/api/chat`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi', images: ['A'.repeat(100 << 20)] }] }),
  }).catch((e: Error) => ({ status: 0, text: async () => e.message }));
  assert.ok(big.status === 413 || big.status === 400, `100 MB body: ${big.status}`);
  const health = await fetch(`${srv.base}/health`);
  assert.equal(health.status, 200);
  const r = await post(srv, '/api/generate', { model: MODEL, prompt: QUESTION, images: [b64], stream: false, options: { temperature: 0, num_predict: N } });
  assert.equal(r.status, 200);
  assert.equal((JSON.parse(r.text) as { response: string }).response, want);
});

test('image URLs: refused without --allow-image-urls; with it, never fetched from loopback, and fetched from an allowed host', async () => {
  let hits = 0;
  const host = createServer((_, res) => {
    hits++;
    res.setHeader('content-type', 'image/png');
    res.end(png);
  });
  await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(host.address() as AddressInfo).port}/picture.png`;
  const body = {
    model: MODEL, max_tokens: N, temperature: 0,
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }, { type: 'text', text: `\n${QUESTION}` }] }],
  };
  const provider = srv.host.ready();
  try {
    let r = await post(srv, '/v1/chat/completions', body);
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /fetches no image URLs/);
    // as serve --allow-image-urls: the loopback address is refused, in the literal and by name
    provider.fetchImage = createImageFetcher();
    r = await post(srv, '/v1/chat/completions', body);
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /loopback, private, link-local or reserved/);
    r = await post(srv, '/v1/chat/completions', { ...body, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: url.replace('127.0.0.1', 'localhost') } }] }] });
    assert.equal(r.status, 400, r.text);
    assert.equal(hits, 0);
    // a host the policy allows (here loopback, standing in for a public one) is fetched
    provider.fetchImage = createImageFetcher({ blocked: () => false });
    r = await post(srv, '/v1/chat/completions', body);
    assert.equal(r.status, 200, r.text);
    assert.equal((JSON.parse(r.text) as { choices: { message: { content: string } }[] }).choices[0].message.content, want);
    assert.equal(hits, 1);
  } finally {
    provider.fetchImage = undefined;
    host.close();
  }
});
