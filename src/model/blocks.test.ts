// The blocks' options through a whole forward pass: a tiny architecture built from them (LayerNorm with bias,
// GELU and GEGLU feed-forwards with biases, non-causal windowed and soft-capped attention, a custom score scale,
// a scaled input and soft-capped logits, no RoPE) run on ref, cpu and webgpu (when a device opens) against ref;
// and embedding rows fed in place of token ids give the same logits as the ids.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GGMLType } from '../gguf/ggml-types.ts';
import type { Backend } from '../kernels/types.ts';
import { getRow } from '../kernels/ref/matmul.ts';
import { createRefBackend } from '../kernels/ref/backend.ts';
import { createCpuBackend } from '../kernels/wasm/backend.ts';
import { createWebGPUBackend } from '../kernels/webgpu/host.ts';
import { REQUIRE_WEBGPU, nmse, randn } from '../kernels/webgpu/test-util.ts';
import { buildLlamaFamily, llamaFamilyTensors } from './archs/llama-family.ts';
import type { Architecture, DecoderModel, TensorTable } from './archs/types.ts';
import { attentionBlock, feedForwardBlock, type AttentionWeights, type FeedForwardWeights } from './blocks.ts';
import { DecoderForward, type Segment } from './decoder.ts';
import type { DecoderHParams } from './hparams.ts';
import { KVCache } from './kv-cache.ts';
import { loadWeights, type TensorSource } from './weights.ts';

const HP: DecoderHParams = {
  arch: 'tiny', nVocab: 37, nCtxTrain: 64, nEmbd: 24, nLayer: 2, nFF: 40, nHead: 4, nHeadKv: 2, headDim: 6, normEps: 1e-5,
  rope: { order: 'norm', nRot: 6, freqBase: 10000, freqScale: 1, scalingType: 'none', nCtxOrig: 64, extFactor: 0, attnFactor: 1,
    betaFast: 32, betaSlow: 1 },
};

/** Random f32 tensors for every declared tensor of `table`, each in its own buffer (webgpu moves them). */
function memorySource(table: TensorTable<DecoderHParams>, hp: DecoderHParams, seed: number): TensorSource {
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  let k = seed;
  const add = (name: string, shape: readonly number[], sd: number) =>
    tensors.set(name, { shape: [...shape], data: randn(shape.reduce((a, b) => a * b, 1), k++, sd) });
  for (const d of table.global) add(`${d.base}.${d.suffix ?? 'weight'}`, d.shape(hp), d.kind === 'matrix' ? 0.5 : 1);
  for (let il = 0; il < hp.nLayer; il++) {
    for (const d of table.layer) add(`blk.${il}.${d.base}.${d.suffix ?? 'weight'}`, d.shape(hp), d.kind === 'matrix' ? 0.4 : 0.3);
  }
  return {
    file: 'memory',
    get(name) {
      const t = tensors.get(name);
      return t && { shape: t.shape, type: GGMLType.F32, data: new Uint8Array(t.data.slice().buffer) };
    },
  };
}

type H = DecoderHParams;
const vec = (base: string, suffix: 'weight' | 'bias' = 'weight', n = (hp: H) => hp.nEmbd) =>
  ({ base, suffix, kind: 'vector' as const, shape: (hp: H) => [n(hp)] });
const mat = (base: string, cols: (hp: H) => number, rows: (hp: H) => number) =>
  ({ base, kind: 'matrix' as const, shape: (hp: H) => [cols(hp), rows(hp)] });
const E = (hp: H) => hp.nEmbd;
const Q = (hp: H) => hp.nHead * hp.headDim;
const KV = (hp: H) => hp.nHeadKv * hp.headDim;
const F = (hp: H) => hp.nFF;

/** An encoder-ish test architecture: every option the blocks have, none of llama's. */
const tiny: Architecture = {
  name: 'tiny',
  readHParams: () => HP,
  tensors: {
    global: [mat('token_embd', E, (hp) => hp.nVocab), vec('output_norm'), vec('output_norm', 'bias')],
    layer: [
      vec('attn_norm'), vec('attn_norm', 'bias'),
      mat('attn_q', E, Q), mat('attn_k', E, KV), mat('attn_v', E, KV), mat('attn_output', Q, E),
      vec('attn_q', 'bias', Q), vec('attn_output', 'bias'),
      vec('ffn_norm'), vec('ffn_norm', 'bias'),
      mat('ffn_gate', E, F), mat('ffn_up', E, F), mat('ffn_down', F, E), vec('ffn_up', 'bias', F), vec('ffn_down', 'bias'),
    ],
  },
  build(hp, w): DecoderModel {
    const g = w.global;
    const tokEmbd = g.matrix('token_embd');
    const layers = w.layers.map((L, il) => {
      const attn: AttentionWeights = {
        norm: { kind: 'layer', weight: L.vector('attn_norm'), bias: L.vector('attn_norm', 'bias') },
        wq: L.matrix('attn_q'), wk: L.matrix('attn_k'), wv: L.matrix('attn_v'), wo: L.matrix('attn_output'),
        bq: L.vector('attn_q', 'bias'), bo: L.vector('attn_output', 'bias'),
      };
      const ffn: FeedForwardWeights = {
        norm: { kind: 'layer', weight: L.vector('ffn_norm'), bias: L.vector('ffn_norm', 'bias') },
        kind: il % 2 === 0 ? 'gelu' : 'geglu',
        wGate: il % 2 === 0 ? undefined : L.matrix('ffn_gate'),
        wUp: L.matrix('ffn_up'), wDown: L.matrix('ffn_down'), bUp: L.vector('ffn_up', 'bias'), bDown: L.vector('ffn_down', 'bias'),
      };
      return { attn, ffn };
    });
    return {
      dims: hp, nLayer: hp.nLayer, nVocab: hp.nVocab, tokEmbd, output: tokEmbd, tiedOutput: true, layers,
      outputNorm: { kind: 'layer', weight: g.vector('output_norm'), bias: g.vector('output_norm', 'bias') },
      logitSoftcap: 8,
      input: (p) => p.backend.scale(p.s.x, Math.sqrt(hp.nEmbd), p.n * hp.nEmbd),
      layer(p, il) {
        const L = layers[il];
        const mask = il % 2 === 0 ? { causal: false, window: 3 } : { causal: false, softcap: 2 };
        attentionBlock(p.backend, L.attn, hp, { mask, scale: 0.3 }, il, p, p.s);
        feedForwardBlock(p.backend, L.ffn, hp, p.n, p.s);
      },
    };
  },
};

interface Variant { label: string; make: () => Backend; bound: number }
/** cpu: the GELU kernels may differ from ref by one f16 ulp on a few values (conformance.test.ts), amplified a little. */
const variants: Variant[] = [
  { label: 'cpu', make: () => createCpuBackend({ threads: 2, minParallelWork: 0 }), bound: 1e-6 },
];
let gpuSkip: string | undefined;
try {
  createWebGPUBackend().dispose();
  variants.push({ label: 'webgpu', make: () => createWebGPUBackend(), bound: 1e-6 });
} catch (e) {
  if (REQUIRE_WEBGPU) throw e;
  gpuSkip = `no WebGPU device: ${(e as Error).message}`;
}
test('webgpu takes part when a device opens', { skip: gpuSkip }, () => {});

function model(arch: Architecture, b: Backend, seed: number): DecoderForward {
  const hp = arch.readHParams(undefined as never, HP.nVocab);
  return new DecoderForward(arch.build(hp, loadWeights(memorySource(arch.tensors, hp, seed), arch.tensors, hp, b)), b);
}
const cache = (b: Backend, f16 = false) => new KVCache(b, HP.nLayer, 16, HP.nHeadKv * HP.headDim, f16);
const run = (f: DecoderForward, segs: Segment[], all = true) =>
  f.backend.name === 'webgpu' ? f.forwardBatchAsync(segs, all) : Promise.resolve(f.forwardBatch(segs, all));

describe('a tiny architecture from the blocks (layer norm + bias, GELU/GEGLU, non-causal windowed and soft-capped attention)', () => {
  const ref = model(tiny, createRefBackend(), 1);
  after(() => ref.backend.dispose());
  const ids = [3, 1, 4, 1, 5, 9, 2];

  test('on ref, attention is not causal: the first row sees the tokens after it', () => {
    const a = ref.forwardBatch([{ tokens: ids, pos0: 0, cache: cache(ref.backend) }], true);
    const b = ref.forwardBatch([{ tokens: [...ids.slice(0, 6), 30], pos0: 0, cache: cache(ref.backend) }], true);
    assert.notDeepEqual(a.subarray(0, HP.nVocab), b.subarray(0, HP.nVocab));
    for (const v of a) assert.ok(Math.abs(v) < 8, `logit ${v} is soft-capped below 8`);
  });

  for (const v of variants) {
    test(`${v.label} matches ref through the whole forward, every row (NMSE ${v.bound})`, async () => {
      const be = v.make();
      try {
        const f = model(tiny, be, 1);
        for (const f16 of [false, true]) {
          const want = ref.forwardBatch([{ tokens: ids, pos0: 0, cache: cache(ref.backend, f16) }], true);
          const got = await run(f, [{ tokens: ids, pos0: 0, cache: cache(be, f16) }]);
          const e = nmse(got, want);
          assert.ok(e <= v.bound, `${f16 ? 'f16' : 'f32'} cache: NMSE ${e}`);
        }
      } finally {
        be.dispose();
      }
    });
  }
});

const llama: Architecture = {
  name: 'llama-test', readHParams: () => HP, tensors: llamaFamilyTensors({ qkvBias: 'optional' }), build: buildLlamaFamily,
};

for (const [label, make] of [['ref', () => createRefBackend()], ['cpu', () => createCpuBackend({ threads: 2 })]] as const) {
  test(`${label}: embedding rows fed to the first layer give the logits of their token ids, alone and beside a token segment`, () => {
    for (const arch of [llama, tiny]) {
      const be = make();
      try {
        const f = model(arch, be, 7);
        const emb = f.model.tokEmbd;
        // the rows of token_embd as stored (f32 in this source): what getRows writes for the ids
        const host = { ...emb, data: memorySource(arch.tensors, HP, 7).get('token_embd.weight')!.data };
        const ids = [5, 0, 36, 5, 11];
        const rows = new Float32Array(ids.length * HP.nEmbd);
        ids.forEach((id, t) => getRow(host, id, rows.subarray(t * HP.nEmbd, (t + 1) * HP.nEmbd)));
        const want = f.forwardBatch([{ tokens: ids, pos0: 0, cache: cache(be) }], true);
        const got = f.forwardBatch([{ embeddings: rows, pos0: 0, cache: cache(be) }], true);
        assert.deepEqual(got, want, `${arch.name}: embeddings alone`);
        const other = [2, 8];
        const both = f.forwardBatch([{ tokens: other, pos0: 0, cache: cache(be) }, { embeddings: rows, pos0: 0, cache: cache(be) }], true);
        const wantOther = f.forwardBatch([{ tokens: other, pos0: 0, cache: cache(be) }], true);
        assert.ok(nmse(both.subarray(other.length * HP.nVocab), want) < 1e-12, `${arch.name}: embeddings beside tokens`);
        assert.ok(nmse(both.subarray(0, other.length * HP.nVocab), wantOther) < 1e-12, `${arch.name}: tokens beside embeddings`);
        assert.throws(() => f.forwardBatch([{ embeddings: rows.subarray(1), pos0: 0, cache: cache(be) }]), /whole rows/);
      } finally {
        be.dispose();
      }
    }
  });
}
