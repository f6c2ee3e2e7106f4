// The one forward pass (DecoderForward) on the webgpu backend against the same pass on the reference backend:
// stories260K (F32, grouped-query heads, odd FFN width) and synthetic llama / qwen2 models in the natively
// supported quant types, prompt then token-by-token decode, batched sequences, all-logits and hidden-state outputs.
// The GPU runs in its worker; here the pass is awaited (forwardBatchAsync) as a server would.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel, type LoadedModel } from '../src/engine/load.ts';
import { KVCache } from '../src/model/kv-cache.ts';
import { sharedPath } from './shared.ts';
import { syntheticModelPath, type SyntheticModelOptions } from './fixtures/synthetic-model.ts';
import { createRefBackend } from '../src/kernels/ref/backend.ts';
import { REQUIRE_WEBGPU, nmse } from '../src/kernels/webgpu/test-util.ts';

const STORIES = sharedPath('models', 'stories260K.gguf');
const gpuModels: LoadedModel[] = [];
after(() => { for (const m of gpuModels) m.dispose(); });

/** A model on webgpu, or the reason there is none (a skip). */
function gpuLoad(path: string, nCtx: number): LoadedModel | string {
  try {
    const m = loadModel(path, { backend: 'webgpu', nCtx });
    gpuModels.push(m);
    return m;
  } catch (e) {
    if (REQUIRE_WEBGPU) throw e;
    return `no WebGPU device: ${(e as Error).message}`;
  }
}

/**
 * Logits NMSE: f32 sums in another order through every layer; with an f16 cache, a value that lands near a
 * rounding boundary may round the other way (measured: f32 cache ~1e-13, f16 cache ~1e-8 on stories260K).
 */
const BOUND = 1e-10;
const BOUND_F16 = 1e-6;

const cacheOf = (m: LoadedModel, nCtx: number, f16: boolean) => new KVCache(m.backend, m.hp.nLayer, nCtx, m.hp.nHeadKv * m.hp.headDim, f16);

const stories = gpuLoad(STORIES, 64);
const skip = typeof stories === 'string' ? stories : undefined;

test('stories260K: prompt and decode logits match the reference backend', { skip }, async () => {
  const g = stories as LoadedModel;
  const m = loadModel(STORIES, { nCtx: 64, backend: 'ref' });
  for (const f16 of [true, false]) {
    const cpuCache = cacheOf(m, 64, f16);
    const gpuCache = cacheOf(g, 64, f16);
    const prompt = m.tokenizer.encode('Once upon a time', { addBos: true });
    let want = m.forward.forward(prompt, 0, cpuCache);
    let got = await g.forward.forwardAsync(prompt, 0, gpuCache);
    let worst = nmse(got, want);
    let pos = prompt.length;
    for (let step = 0; step < 12; step++) {
      let best = 0;
      for (let i = 1; i < want.length; i++) if (want[i] > want[best]) best = i;
      want = m.forward.forward([best], pos, cpuCache);
      got = await g.forward.forwardAsync([best], pos, gpuCache);
      worst = Math.max(worst, nmse(got, want));
      pos++;
    }
    console.log(`# stories260K f16 cache ${f16}: worst logits NMSE over prompt + 12 steps ${worst.toExponential(2)}`);
    assert.ok(worst < (f16 ? BOUND_F16 : BOUND), `NMSE ${worst}`);
    gpuCache.dispose();
  }
});

test('stories260K: batched sequences, all logits and hidden states match', { skip }, async () => {
  const g = stories as LoadedModel;
  const m = loadModel(STORIES, { nCtx: 32, backend: 'ref' });
  const a = [1, 403, 407, 263, 431];
  const b = [1, 12, 300];
  const ca = cacheOf(m, 32, false);
  const cb = cacheOf(m, 32, false);
  const ga = cacheOf(g, 32, false);
  const gb = cacheOf(g, 32, false);
  const wantAll = m.forward.forwardBatch([{ tokens: a.slice(0, 2), pos0: 0, cache: ca }], true);
  const gotAll = await g.forward.forwardBatchAsync([{ tokens: a.slice(0, 2), pos0: 0, cache: ga }], true);
  assert.equal(gotAll.length, 2 * m.hp.nVocab);
  assert.ok(nmse(gotAll, wantAll) < BOUND);
  const want = m.forward.forwardBatch([{ tokens: a.slice(2), pos0: 2, cache: ca }, { tokens: b, pos0: 0, cache: cb }]);
  const got = await g.forward.forwardBatchAsync([{ tokens: a.slice(2), pos0: 2, cache: ga }, { tokens: b, pos0: 0, cache: gb }]);
  assert.equal(got.length, 2 * m.hp.nVocab);
  assert.ok(nmse(got, want) < BOUND, `batched NMSE ${nmse(got, want)}`);
  const wantH = m.forward.forwardBatch([{ tokens: [5, 6], pos0: 0, cache: cacheOf(m, 32, true) }], true, true);
  const gotH = await g.forward.forwardBatchAsync([{ tokens: [5, 6], pos0: 0, cache: cacheOf(g, 32, true) }], true, true);
  assert.equal(gotH.length, 2 * m.hp.nEmbd);
  assert.ok(nmse(gotH, wantH) < BOUND);
  await assert.rejects(g.forward.forwardBatchAsync([{ tokens: [m.hp.nVocab], pos0: 0, cache: ga }]), /outside the vocabulary/);
  await assert.rejects(g.forward.forwardBatchAsync([{ tokens: [1, 2], pos0: 31, cache: ga }]), (e: Error & { code?: string }) => e.code === 'context_length_exceeded');
});

// Synthetic models (Llama 2 vocabulary) in K-quant types: qwen2 has Q/K/V biases, NeoX rope and a tied output
// head; Q5_K has no native kernel and is converted to F16 on upload. The reference runs without activation
// rounding, as the GPU does.
const SYNTH: [string, SyntheticModelOptions, number][] = [
  ['qwen2 Q4_K tied', { arch: 'qwen2', weightType: 'Q4_K', tiedOutput: true }, BOUND],
  ['llama Q6_K', { arch: 'llama', weightType: 'Q6_K' }, BOUND],
  ['llama Q5_K (as F16)', { arch: 'llama', weightType: 'Q5_K' }, 1e-5],
];
for (const [name, opts, bound] of SYNTH) {
  test(`synthetic ${name}: prompt and decode logits match ref`, { skip }, async () => {
    const path = syntheticModelPath({ ...opts, nEmbd: 256, nLayer: 2, nHead: 4, nHeadKv: 2, nFF: 512 });
    const ref = loadModel(path, { nCtx: 16 }, createRefBackend({ roundActivations: false }));
    const g = gpuLoad(path, 16) as LoadedModel;
    const cache = cacheOf(ref, 16, false);
    const gcache = cacheOf(g, 16, false);
    const prompt = [1, 450, 4996, 17354];
    const e1 = nmse(await g.forward.forwardAsync(prompt, 0, gcache), ref.forward.forward(prompt, 0, cache));
    const e2 = nmse(await g.forward.forwardAsync([29889], 4, gcache), ref.forward.forward([29889], 4, cache));
    console.log(`# synthetic ${name}: logits NMSE prompt ${e1.toExponential(2)}, decode ${e2.toExponential(2)}`);
    assert.ok(e1 < bound && e2 < bound, `NMSE ${e1}, ${e2}`);
    g.dispose();
  });
}
