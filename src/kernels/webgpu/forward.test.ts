// The GPU-resident forward pass (async core) against DecoderForward on the reference backend: stories260K (F32,
// grouped-query heads, odd FFN width) and synthetic llama / qwen2 models in the natively supported quant types,
// prompt then token-by-token decode, batched sequences, all-logits and hidden-state outputs.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel, type LoadedModel } from '../../model/load.ts';
import { KVCache } from '../../engine/kv-cache.ts';
import { sharedPath } from '../../../test/shared.ts';
import { syntheticModelPath, type SyntheticModelOptions } from '../../../test/fixtures/synthetic-model.ts';
import { DecoderForward } from '../../model/archs/llama-family.ts';
import { createRefBackend } from '../ref/backend.ts';
import { WebGPUForward } from './forward.ts';
import { probeGpu, nmse } from './test-util.ts';

const probe = await probeGpu();
const skip = probe.reason;
const gd = probe.gd!;
after(() => gd?.destroy());

/**
 * Logits NMSE: f32 sums in another order through every layer; with an f16 cache, a value that lands near a
 * rounding boundary may round the other way (measured: f32 cache ~1e-13, f16 cache ~1e-8 on stories260K).
 */
const BOUND = 1e-10;
const BOUND_F16 = 1e-6;

function gpuFor(m: LoadedModel): WebGPUForward {
  return new WebGPUForward(gd, m.hp, { ...m.hp.rope, freqFactors: m.forward.w.ropeFreqs }, m.forward.w);
}

function refLogits(m: LoadedModel, tokens: number[], cache: KVCache, pos0: number, all = false): Float32Array {
  return m.forward.forward(tokens, pos0, cache, all);
}

test('stories260K: prompt and decode logits match the reference backend', { skip }, async () => {
  const m = loadModel(sharedPath('models', 'stories260K.gguf'), { nCtx: 64, backend: 'ref' });
  const fwd = gpuFor(m);
  for (const f16 of [true, false]) {
    const cpuCache = new KVCache(m.hp.nLayer, 64, m.hp.nHeadKv * m.hp.headDim, f16);
    const gpuCache = fwd.createCache(64, f16);
    const prompt = m.tokenizer.encode('Once upon a time', { addBos: true });
    let want = refLogits(m, prompt, cpuCache, 0);
    let got = await fwd.forwardBatch([{ tokens: prompt, pos0: 0, cache: gpuCache }]);
    let worst = nmse(got, want);
    let pos = prompt.length;
    for (let step = 0; step < 12; step++) {
      let best = 0;
      for (let i = 1; i < want.length; i++) if (want[i] > want[best]) best = i;
      want = refLogits(m, [best], cpuCache, pos);
      got = await fwd.forwardBatch([{ tokens: [best], pos0: pos, cache: gpuCache }]);
      worst = Math.max(worst, nmse(got, want));
      pos++;
    }
    console.log(`# stories260K f16 cache ${f16}: worst logits NMSE over prompt + 12 steps ${worst.toExponential(2)}`);
    assert.ok(worst < (f16 ? BOUND_F16 : BOUND), `NMSE ${worst}`);
    gpuCache.destroy();
  }
  fwd.destroy();
});

test('stories260K: batched sequences, all logits and hidden states match', { skip }, async () => {
  const m = loadModel(sharedPath('models', 'stories260K.gguf'), { nCtx: 32, backend: 'ref' });
  const fwd = gpuFor(m);
  const kvDim = m.hp.nHeadKv * m.hp.headDim;
  const a = [1, 403, 407, 263, 431];
  const b = [1, 12, 300];
  const ca = new KVCache(m.hp.nLayer, 32, kvDim, false);
  const cb = new KVCache(m.hp.nLayer, 32, kvDim, false);
  const ga = fwd.createCache(32, false);
  const gb = fwd.createCache(32, false);
  const wantAll = m.forward.forwardBatch([{ tokens: a.slice(0, 2), pos0: 0, cache: ca }], true);
  const gotAll = await fwd.forwardBatch([{ tokens: a.slice(0, 2), pos0: 0, cache: ga }], true);
  assert.equal(gotAll.length, 2 * m.hp.nVocab);
  assert.ok(nmse(gotAll, wantAll) < BOUND);
  const want = m.forward.forwardBatch([{ tokens: a.slice(2), pos0: 2, cache: ca }, { tokens: b, pos0: 0, cache: cb }]);
  const got = await fwd.forwardBatch([{ tokens: a.slice(2), pos0: 2, cache: ga }, { tokens: b, pos0: 0, cache: gb }]);
  assert.equal(got.length, 2 * m.hp.nVocab);
  assert.ok(nmse(got, want) < BOUND, `batched NMSE ${nmse(got, want)}`);
  const wantH = m.forward.forwardBatch([{ tokens: [5, 6], pos0: 0, cache: new KVCache(m.hp.nLayer, 32, kvDim) }], true, true);
  const gotH = await fwd.forwardBatch([{ tokens: [5, 6], pos0: 0, cache: fwd.createCache(32, true) }], true, true);
  assert.equal(gotH.length, 2 * m.hp.nEmbd);
  assert.ok(nmse(gotH, wantH) < BOUND);
  await assert.rejects(fwd.forwardBatch([{ tokens: [m.hp.nVocab], pos0: 0, cache: ga }]), /outside the vocabulary/);
  await assert.rejects(fwd.forwardBatch([{ tokens: [1, 2], pos0: 31, cache: ga }]), (e: Error & { code?: string }) => e.code === 'context_length_exceeded');
  fwd.destroy();
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
    const m = loadModel(syntheticModelPath({ ...opts, nEmbd: 256, nLayer: 2, nHead: 4, nHeadKv: 2, nFF: 512 }), { nCtx: 16, backend: 'ref' });
    const ref = new DecoderForward(m.hp, m.forward.w, createRefBackend({ roundActivations: false }));
    const fwd = gpuFor(m);
    const kvDim = m.hp.nHeadKv * m.hp.headDim;
    const cache = new KVCache(m.hp.nLayer, 16, kvDim, false);
    const gcache = fwd.createCache(16, false);
    const prompt = [1, 450, 4996, 17354];
    const e1 = nmse(await fwd.forwardBatch([{ tokens: prompt, pos0: 0, cache: gcache }]), ref.forward(prompt, 0, cache));
    const e2 = nmse(await fwd.forwardBatch([{ tokens: [29889], pos0: 4, cache: gcache }]), ref.forward([29889], 4, cache));
    console.log(`# synthetic ${name}: logits NMSE prompt ${e1.toExponential(2)}, decode ${e2.toExponential(2)}`);
    assert.ok(e1 < bound && e2 < bound, `NMSE ${e1}, ${e2}`);
    fwd.destroy();
  });
}
