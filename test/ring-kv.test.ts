// Ring KV caches for sliding-window layers (src/model/kv-cache.ts) through whole forward passes: a small test
// architecture built from the blocks (RoPE, RMSNorm, SwiGLU; layers 0 and 2 causal with a sliding window, layer 2
// also soft-capped, layers 1 and 3 full) runs the same batches over a ring cache and over a full cache, on ref and
// cpu, f32 and f16 caches, across a context several times the window, with batches bigger than the ring (the
// attention block splits them). The ring visits the same keys in the same order, so the logits are identical.
// Then the prefix-reuse rule (Context.reusable / KVCache.canResume) on a Context: a prefix is kept only while every
// ring still holds the window before it, and a kept prefix gives the logits of a fresh evaluation. kvBytes against
// createCache; and a synthetic gemma3 (kvWindow from src/model/archs/gemma-family.ts) over rings that wrap against
// llama.cpp (measured NMSE 3.5e-8, under LOOSE_MAX_NMSE.F32; greedy agrees).
// Measured alone: ~12 s with webgpu on a software adapter (2-core machine, shared), ~7 s without.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GGMLType } from '../src/gguf/ggml-types.ts';
import type { Backend } from '../src/kernels/types.ts';
import { createRefBackend } from '../src/kernels/ref/backend.ts';
import { createCpuBackend } from '../src/kernels/wasm/backend.ts';
import { createWebGPUBackend } from '../src/kernels/webgpu/host.ts';
import { REQUIRE_WEBGPU, nmse, randn } from '../src/kernels/webgpu/test-util.ts';
import { buildLlamaFamily, llamaFamilyTensors } from '../src/model/archs/llama-family.ts';
import type { DecoderModel, TensorTable } from '../src/model/archs/types.ts';
import { attentionBlock, feedForwardBlock } from '../src/model/blocks.ts';
import { DecoderForward } from '../src/model/decoder.ts';
import type { DecoderHParams } from '../src/model/hparams.ts';
import { KVCache, type KVLayout } from '../src/model/kv-cache.ts';
import { loadWeights, type TensorSource } from '../src/model/weights.ts';
import { Context } from '../src/engine/context.ts';
import { loadModel, type LoadedModel } from '../src/engine/load.ts';
import { syntheticFamilyPath } from './fixtures/synthetic-families.ts';
import { referenceEval, requireReference } from './reference/client.ts';
import { LOOSE_MAX_NMSE } from './parity/bounds.ts';

const HP: DecoderHParams = {
  arch: 'ring-test', nVocab: 41, nCtxTrain: 1024, nEmbd: 32, nLayer: 4, nFF: 48, nHead: 4, nHeadKv: 2, headDim: 8, normEps: 1e-5,
  rope: { order: 'neox', nRot: 8, freqBase: 10000, freqScale: 1, scalingType: 'none', nCtxOrig: 1024, extFactor: 0, attnFactor: 1,
    betaFast: 32, betaSlow: 1 },
};
const WINDOW = 6;
const windowOf = (il: number): number | undefined => (il % 2 === 0 ? WINDOW : undefined);
const KV_DIM = HP.nHeadKv * HP.headDim;

function memorySource(table: TensorTable<DecoderHParams>, seed: number): TensorSource {
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  let k = seed;
  const add = (name: string, shape: readonly number[], sd: number) =>
    tensors.set(name, { shape: [...shape], data: randn(shape.reduce((a, b) => a * b, 1), k++, sd) });
  for (const d of table.global) add(`${d.base}.${d.suffix ?? 'weight'}`, d.shape(HP), d.kind === 'matrix' ? 0.5 : 1);
  for (let il = 0; il < HP.nLayer; il++) {
    for (const d of table.layer) add(`blk.${il}.${d.base}.${d.suffix ?? 'weight'}`, d.shape(HP), d.kind === 'matrix' ? 0.5 : 1);
  }
  return {
    file: 'memory',
    get(name) {
      const t = tensors.get(name);
      return t && { shape: t.shape, type: GGMLType.F32, data: new Uint8Array(t.data.slice().buffer) };
    },
  };
}

/** The test architecture: llama's weights, window layers (soft-capped on layer 2) beside full ones. */
function model(b: Backend): DecoderForward {
  const table = llamaFamilyTensors({ qkvBias: 'optional' });
  const base = buildLlamaFamily(HP, loadWeights(memorySource(table, 3), table, HP, b));
  const m: DecoderModel = {
    ...base,
    kvWindow: windowOf,
    layer(p, il) {
      const L = base.layers[il];
      const w = windowOf(il);
      const mask = w === undefined ? undefined : { window: w, softcap: il === 2 ? 4 : undefined };
      attentionBlock(p.backend, L.attn, HP, { rope: HP.rope, mask }, il, p, p.s);
      feedForwardBlock(p.backend, L.ffn!, HP, p.n, p.s);
    },
  };
  return new DecoderForward(m, b);
}

const tokens = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (i * 7 + seed * 13 + ((i * i) % 5)) % HP.nVocab);

const backends: [string, () => Backend][] = [
  ['ref', () => createRefBackend()],
  ['cpu', () => createCpuBackend({ threads: 2, minParallelWork: 0 })],
];
// webgpu runs attention over a ring on the host (the reference on read-back caches; src/kernels/webgpu/host.ts)
let gpuSkip: string | undefined;
try {
  createWebGPUBackend().dispose();
  backends.push(['webgpu', () => createWebGPUBackend()]);
} catch (e) {
  if (REQUIRE_WEBGPU) throw e;
  gpuSkip = `no WebGPU device: ${(e as Error).message}`;
}
test('webgpu takes part when a device opens', { skip: gpuSkip }, () => {});

for (const [label, make] of backends) {
  describe(`ring KV cache on ${label}`, () => {
    const b = make();
    const f = model(b);
    after(() => b.dispose());

    for (const f16 of [false, true]) {
      // webgpu (a software adapter in CI) takes the small rings only: each ring attention reads the caches back
      for (const layout of (label === 'webgpu' ? [{ nUbatch: 5, pad: 1 }] : [{ nUbatch: 5, pad: 1 }, { nUbatch: 16 }]) as KVLayout[]) {
        const nCtx = layout.pad === 1 ? 80 : 1024;
        test(`${f16 ? 'f16' : 'f32'} cache, rings of ${layout.pad === 1 ? 'window + 5' : 'llama.cpp\'s 256'} rows, ${nCtx} positions: logits identical to a full cache`, async () => {
          const ring = new KVCache(b, HP.nLayer, nCtx, KV_DIM, f16, { ...layout, window: windowOf });
          const full = new KVCache(b, HP.nLayer, nCtx, KV_DIM, f16);
          const R = ring.ring(0)!;
          assert.ok(R !== undefined && R * 3 < nCtx, `ring ${R} rows in a context of ${nCtx}`);
          assert.ok(ring.bytes < full.bytes);
          // batches: one bigger than the ring, decode steps, one that wraps mid-batch, the rest of the context
          const sizes = [R + 7, 1, 1, 3, Math.floor(R / 2) + 1, 1, 2 * R + 3];
          sizes.push(nCtx - sizes.reduce((a, c) => a + c, 0));
          const ids = tokens(nCtx, f16 ? 2 : 1);
          let pos = 0;
          for (const n of sizes) {
            const batch = ids.slice(pos, pos + n);
            const got = await f.forwardAsync(batch, pos, ring, true);
            const want = await f.forwardAsync(batch, pos, full, true);
            assert.deepEqual(got, want, `batch of ${n} at ${pos}`);
            pos += n;
          }
          assert.equal(pos, nCtx);
          ring.dispose();
          full.dispose();
        });
      }
    }

    test('two sequences over rings in one pass: each gets the logits it gets alone over a full cache', async () => {
      const layout: KVLayout = { nUbatch: 4, pad: 1, window: windowOf };
      const a = new KVCache(b, HP.nLayer, 64, KV_DIM, true, layout);
      const c = new KVCache(b, HP.nLayer, 64, KV_DIM, true, layout);
      const solo = new KVCache(b, HP.nLayer, 64, KV_DIM, true);
      const x = tokens(30, 5);
      const y = tokens(30, 6);
      const both = await f.forwardBatchAsync([{ tokens: x, pos0: 0, cache: a }, { tokens: y, pos0: 0, cache: c }]);
      const alone = await f.forwardAsync(y, 0, solo);
      assert.deepEqual(both.subarray(HP.nVocab), alone);
      for (const t of [a, c, solo]) t.dispose();
    });

    test('prefix reuse: Context.reusable keeps a prefix only while the rings hold its window; kept prefixes match a fresh evaluation', { skip: label === 'webgpu' && 'a Context evaluates synchronously' }, () => {
      const layout: KVLayout = { nUbatch: 4, pad: 1, window: windowOf };
      const nCtx = 96;
      const lm = {
        forward: f, nCtx, options: { nBatch: 8 }, hp: HP,
        createCache: (n = nCtx) => new KVCache(b, HP.nLayer, n, KV_DIM, true, layout),
      } as unknown as LoadedModel;
      const ctx = new Context(lm);
      const R = ctx.cache.ring(0)!; // window + nUbatch = 10
      assert.equal(R, WINDOW + 4);
      const a = tokens(60, 7);
      ctx.eval(a);
      assert.equal(ctx.cache.written, 60);
      // the ring holds 50..59; position n needs n - 5 .. n - 1: n >= 55 can resume, a shorter prefix cannot
      for (const n of [60, 59, 55]) assert.equal(ctx.reusable(n), n);
      for (const n of [54, 30, 1]) assert.equal(ctx.reusable(n), 0);
      assert.equal(ctx.reusable(0), 0);
      assert.throws(() => ctx.truncate(54), /cannot be reused/);
      assert.equal(ctx.nPast, 60, 'a refused truncation keeps the context as it was');
      const fresh = (prompt: number[]) => {
        const c = new Context(lm);
        const out = c.eval(prompt, true);
        c.dispose();
        return out;
      };
      // a prompt sharing 57 tokens: keep 57, evaluate the rest
      const b1 = [...a.slice(0, 57), ...tokens(20, 8)];
      const keep = ctx.reusable(57);
      assert.equal(keep, 57);
      ctx.truncate(keep);
      const got = ctx.eval(b1.slice(keep), true);
      const want = fresh(b1);
      assert.deepEqual(got, want.subarray(keep * HP.nVocab));
      // a prompt sharing only 40 tokens (the ring holds 67..76 now) starts over, and still matches
      const b2 = [...b1.slice(0, 40), ...tokens(9, 9)];
      assert.equal(ctx.reusable(40), 0);
      ctx.truncate(ctx.reusable(40));
      assert.deepEqual(ctx.eval(b2, true), fresh(b2));
      // a full-layer-only context reuses any prefix
      const plain = new Context({ ...lm, createCache: (n = nCtx) => new KVCache(b, HP.nLayer, n, KV_DIM, true) } as LoadedModel);
      plain.eval(a);
      assert.equal(plain.reusable(10), 10);
      plain.truncate(10);
      assert.deepEqual(plain.eval(a.slice(10, 20), true), fresh(a.slice(0, 20)).subarray(10 * HP.nVocab));
      plain.dispose();
      ctx.dispose();
    });
  });
}

test('LoadedModel.kvBytes(nCtx) is what createCache(nCtx) allocates (a model without windows: every layer full)', () => {
  const m = loadModel(syntheticFamilyPath({ family: 'phi3' }), { backend: 'ref' });
  try {
    for (const n of [1, 300, 1000]) {
      const c = m.createCache(n);
      assert.equal(m.kvBytes(n), c.bytes);
      assert.equal(m.kvBytes(n), m.kvBytesPerToken * n);
      c.dispose();
    }
    assert.equal(m.kvBytes(), m.kvBytesPerToken * m.nCtx);
  } finally {
    m.dispose();
  }
});

test('gemma3 over rings that wrap, a 300-token prompt in one pass (split by the ring): logits and greedy match llama.cpp', (t) => {
  if (!requireReference(t)) return;
  // 3 layers (0 and 2 slide a window of 16, 1 is global); nBatch 8 sizes the rings: GGML_PAD(16 + 8, 256) = 256 rows
  const path = syntheticFamilyPath({ family: 'gemma3', nEmbd: 256, nHead: 4, nHeadKv: 1, headDim: 64, nFF: 512, nLayer: 3,
    swaPattern: 2, slidingWindow: 16, ropeFreqBase: 1_000_000 });
  const nCtx = 512;
  const nPredict = 4;
  let r = 12345;
  const prompt = [2, ...Array.from({ length: 299 }, () => 100 + ((r = (Math.imul(r, 1103515245) + 12345) >>> 0) % 30000))];
  const want = referenceEval({ model: path, nCtx, threads: 1, tokens: prompt, nPredict, logitSteps: nPredict });
  const m = loadModel(path, { nCtx, nBatch: 8, backend: 'cpu' });
  try {
    const cache = m.createCache();
    assert.deepEqual([cache.ring(0), cache.ring(1), cache.ring(2)], [256, undefined, 256]);
    assert.equal(m.kvBytes(), cache.bytes);
    assert.equal(cache.bytes, (256 + 512 + 256) * 2 * 64 * 2);
    let logits = m.forward.forward(prompt, 0, cache);
    let worst = 0;
    for (let k = 0; k < nPredict; k++) {
      const e = nmse(logits, want.stepLogits[k]);
      worst = Math.max(worst, e);
      assert.ok(e <= LOOSE_MAX_NMSE.F32, `step ${k}: NMSE ${e}`);
      let pick = 0;
      for (let i = 1; i < logits.length; i++) if (logits[i] > logits[pick]) pick = i;
      assert.equal(pick, want.greedy[k], `greedy step ${k}`);
      if (k + 1 < nPredict) logits = m.forward.forward([want.greedy[k]], prompt.length + k, cache);
    }
    t.diagnostic(`gemma3 rings: NMSE max ${worst.toExponential(2)} over ${nPredict} steps`);
    cache.dispose();
  } finally {
    m.dispose();
  }
});
