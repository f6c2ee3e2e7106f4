// End to end through the public path: loadModel({ backend: 'webgpu' }) -> Context -> generate, as
// `hearth run stories260K.gguf --prompt "Once upon a time" -n 64 --temp 0 --backend webgpu` runs it; the greedy
// ids must be the reference backend's. Also the synchronous and asynchronous entry points, evalBatch and embed.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel, type LoadedModel } from '../src/engine/load.ts';
import { Context, evalBatch } from '../src/engine/context.ts';
import { generate } from '../src/engine/generate.ts';
import { embed } from '../src/engine/embed.ts';
import { rawPromptTokens } from '../src/chat/prompt.ts';
import { sharedPath } from './shared.ts';
import { isWebGPUBackend } from '../src/kernels/webgpu/host.ts';
import { REQUIRE_WEBGPU, nmse } from '../src/kernels/webgpu/test-util.ts';

const STORIES = sharedPath('models', 'stories260K.gguf');

let gpu: LoadedModel | undefined;
let skip: string | undefined;
try {
  gpu = loadModel(STORIES, { backend: 'webgpu', nCtx: 128 });
} catch (e) {
  if (REQUIRE_WEBGPU) throw e;
  skip = `no WebGPU device: ${(e as Error).message}`;
}
after(() => gpu?.dispose());
const ref = loadModel(STORIES, { backend: 'ref', nCtx: 128 });

async function greedy(m: LoadedModel, n: number): Promise<{ ids: number[]; text: string }> {
  const ids: number[] = [];
  let text = '';
  const prompt = rawPromptTokens(m.tokenizer, 'Once upon a time');
  for await (const ev of generate(new Context(m), { prompt, maxTokens: n, sampling: { temperature: 0 } })) {
    if (ev.type === 'token') ids.push(ev.id);
    if (ev.type !== 'done') text += ev.text;
  }
  return { ids, text };
}

test('hearth run --temp 0 -n 64 on webgpu gives the reference backend\'s greedy ids and text', { skip }, async () => {
  const m = gpu!;
  assert.equal(m.backend.name, 'webgpu');
  assert.ok(isWebGPUBackend(m.backend));
  console.log(`# ${m.backend.host.description}`);
  const want = await greedy(ref, 64);
  const got = await greedy(m, 64);
  assert.equal(got.ids.length, 64);
  assert.deepEqual(got.ids, want.ids);
  assert.equal(got.text, want.text);
});

test('webgpu: sync eval, async forward, evalBatch and embed agree with ref', { skip }, async () => {
  const m = gpu!;
  const f = m.forward;
  const tokens = [1, 403, 407, 263, 431, 7];
  const want = new Context(ref).eval(tokens, true);
  const got = new Context(m).eval(tokens, true);
  assert.ok(nmse(got, want) < 1e-6, `eval NMSE ${nmse(got, want)}`);
  // the async entry point on a fresh context, chunked: prompt then one token
  const ctx = new Context(m);
  await f.forwardAsync(tokens.slice(0, 5), 0, ctx.cache);
  const last = await f.forwardAsync(tokens.slice(5), 5, ctx.cache);
  assert.ok(nmse(last, want.subarray(5 * m.hp.nVocab)) < 1e-6);
  const [a, b] = evalBatch([{ ctx: new Context(m), tokens: [1, 2, 3] }, { ctx: new Context(m), tokens: [1, 9] }]);
  assert.ok(nmse(a, new Context(ref).eval([1, 2, 3])) < 1e-6);
  assert.ok(nmse(b, new Context(ref).eval([1, 9])) < 1e-6);
  const e = embed(m, tokens);
  assert.ok(nmse(e, embed(ref, tokens)) < 1e-6);
  // errors from the worker keep their codes
  assert.throws(() => new Context(m).eval([100000]), (err: Error & { code?: string }) => err.code === 'invalid_argument');
});
