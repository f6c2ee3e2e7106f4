// analyze_image through /mcp on a server whose model reads images (a synthetic language model with a synthetic
// mmproj, as test/vision/server-images.test.ts): base64 bytes and a data URL give the same greedy text as
// /v1/chat/completions with that image and question; with the vision model loaded, "model" may be left out; bytes
// that are no image are a tool error and the server answers the next call.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import OpenAI from 'openai';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startServer, type TestServer } from '../server/harness.ts';
import { syntheticModelPath } from '../fixtures/synthetic-model.ts';
import { syntheticMmprojPath } from '../fixtures/synthetic-mmproj.ts';
import { textOf } from './harness.ts';

const LM = { nEmbd: 128, nLayer: 2, nHead: 4, nHeadKv: 4, nFF: 256 } as const;
const MODEL = 'llava-test';
const QUESTION = 'What is in the picture?';
let srv: TestServer;
let b64: string;
let want: string;

before(async () => {
  const px = Buffer.alloc(48 * 40 * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 31 + (i >> 7) * 11) & 255;
  b64 = (await sharp(px, { raw: { width: 48, height: 40, channels: 3 } }).png().toBuffer()).toString('base64');
  srv = await startServer({ path: syntheticModelPath(LM), alias: MODEL, mmproj: syntheticMmprojPath({ nEmbdOut: LM.nEmbd }), parallel: 2, nCtx: 256 });
  const client = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'unused', maxRetries: 0 });
  const r = await client.chat.completions.create({
    model: MODEL, max_tokens: 8, temperature: 0,
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${b64}` } }, { type: 'text', text: QUESTION }] }],
  });
  want = r.choices[0]!.message.content!;
  assert.ok(want.length > 0);
});
after(async () => {
  await srv?.close();
});

test('analyze_image: base64 or a data URL, the same text as /v1/chat/completions; a bad image is a tool error', async () => {
  const client = new Client({ name: 'hearth-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${srv.base}/mcp`)));
  try {
    const bytes = await client.callTool({ name: 'analyze_image', arguments: { model: MODEL, image: b64, prompt: QUESTION, max_tokens: 8, temperature: 0 } });
    assert.equal(bytes.isError, undefined, textOf(bytes));
    assert.equal(textOf(bytes), want);
    const url = await client.callTool({ name: 'analyze_image', arguments: { image: `data:image/png;base64,${b64}`, prompt: QUESTION, max_tokens: 8, temperature: 0 } });
    assert.equal(textOf(url), want);
    assert.equal((url.structuredContent as { model: string }).model, MODEL);

    const notImage = await client.callTool({ name: 'analyze_image', arguments: { image: Buffer.from('not an image at all').toString('base64'), max_tokens: 2 } });
    assert.equal(notImage.isError, true);
    assert.equal((notImage._meta?.['hearth/error'] as { status: number }).status, 400);
    const link = await client.callTool({ name: 'analyze_image', arguments: { image: 'https://example.com/cat.png' } });
    assert.match(textOf(link), /does not fetch URLs/);
    assert.equal(textOf(await client.callTool({ name: 'analyze_image', arguments: { image: b64, prompt: QUESTION, max_tokens: 8, temperature: 0 } })), want);
  } finally {
    await client.close();
  }
});
