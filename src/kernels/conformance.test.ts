// The conformance loop (llama.cpp's test-backend-ops is the model): every op of the Backend interface, on every
// backend available here, against the reference kernels (src/kernels/ref/) on random inputs of a few shapes and
// types, through backend tensors and views at offsets, exactly as the forward pass calls them. Each (op, backend)
// pair has a stated NMSE bound in BOUNDS, with the reason. Backends: ref itself (its tensor plumbing), cpu with
// plain SIMD128 on 1 and 2 threads and relaxed SIMD on 2 threads (every op split: minParallelWork 0), and webgpu
// when a device opens (HEARTH_REQUIRE_WEBGPU=1 makes a missing one fail).

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GGMLType, typeName, type GGMLTypeId } from '../gguf/ggml-types.ts';
import { quantizeTensor } from '../quant/index.ts';
import { roundF16 } from '../util/f16.ts';
import { view, type Backend, type DType, type Tensor, type WeightTensor } from './backend.ts';
import { attention as refAttention, type AttentionShape } from './ref/attention.ts';
import { isPlainCausal, type AttentionOptions } from './ref/attention-options.ts';
import { gelu as refGelu, geglu as refGeglu, geluErf as refGeluErf } from './ref/gelu.ts';
import { layerNorm as refLayerNorm } from './ref/layer-norm.ts';
import { scale as refScale, softcap as refSoftcap } from './ref/scale.ts';
import { createRefBackend } from './ref/backend.ts';
import { getRow as refGetRow, matmul as refMatmul } from './ref/matmul.ts';
import { moeCombine as refMoeCombine, moeRoute as refMoeRoute } from './ref/moe.ts';
import { addBias as refAddBias, addInPlace, rmsNorm as refRmsNorm, swiglu as refSwiglu } from './ref/ops.ts';
import { rope as refRope, type RopeParams } from './ref/rope.ts';
import { readBack } from './test-tensors.ts';
import { createCpuBackend } from './wasm/backend.ts';
import { relaxedSimdSupported } from './wasm/module.ts';
import { createWebGPUBackend } from './webgpu/host.ts';
import { gpuTypeFor } from './webgpu/weights.ts';
import { REQUIRE_WEBGPU, nmse, randn } from './webgpu/test-util.ts';

type Kind = 'ref' | 'cpu' | 'webgpu';
type Op = 'getRows' | 'matmul' | 'rmsNorm' | 'rope' | 'kvStore' | 'attention' | 'attentionF16' | 'swiglu' | 'add' | 'addBias'
  | 'layerNorm' | 'gelu' | 'geluErf' | 'geglu' | 'scale' | 'softcap' | 'attentionOptions' | 'attentionOptionsF16' | 'moeRoute'
  | 'moeCombine';

/**
 * NMSE bounds per op and backend kind. 0 means bit-exact. Matmul bounds per type are in matmulBound().
 * - ref: the backend's ops are the reference functions over its arrays: exact.
 * - cpu: rmsNorm, add, addBias sum in the same order and precision as the reference (f64 sum of squares) and rope,
 *   getRows run the reference TypeScript: exact; kvStore rounds with the same round-to-nearest-even: exact;
 *   swiglu's exp is Cephes (~2 ulp): 1e-13; attention's exp and f32 sums against the reference's f64: 1e-11 over
 *   an f32 cache, and over f16 a softmax weight within an ulp of an f16 rounding boundary can round the other
 *   way (a 2^-11 change of one weight): 1e-8.
 * - webgpu: element-wise f32 on both sides, only exp / sqrt / summation order differ: 1e-12; kvStore rounds
 *   like the reference: exact; attention sums over positions and dimensions in another order: 1e-9, f16 weight
 *   rounding may differ by 1 ulp: 1e-6; get-rows decodes exactly.
 * The ops newer architectures need:
 * - cpu: layerNorm's kernel sums in f64 in the reference's order with the same f32 steps: exact; gelu / geglu: the
 *   kernel's tanh (Cephes exp, ~2 ulp) can land ggml_gelu_f32 on the other side of an f16 rounding boundary (one
 *   f16 ulp on a few values): 1e-8; geluErf: an erfc approximation (|error| 1.5e-7) against the f64 erf: 1e-12;
 *   scale is one f32 multiply as the reference: exact; softcap's tanh (assembly/ops.ts tanhAccV) is within 4 ulp
 *   of f32(Math.tanh) (measured 2; the bound is tested in wasm/attention.test.ts), so a value moves by 5 ulp at
 *   most: NMSE (5 * 2^-23)^2 ~ 4e-13, bound 1e-11. Attention with options runs the attention kernel, whose soft-cap
 *   adds the tanh error (1e-6 of the cap on a score) to the plain kernel's: 1e-10 over f32 caches, and as plain
 *   over f16 ones (1e-8).
 * - webgpu: no WGSL kernels for these yet; the host runs the reference on read-back inputs (host.ts): exact.
 * Mixture-of-experts: moeRoute and moeCombine run the reference on the backend's memory (cpu) or on read-back
 * values (webgpu): exact; matmulId is matmul by rows (the expert batching must not change a row: matmulBound).
 */
const BOUNDS: Record<Kind, Record<Exclude<Op, 'matmul'>, number>> = {
  ref: { getRows: 0, rmsNorm: 0, rope: 0, kvStore: 0, attention: 0, attentionF16: 0, swiglu: 0, add: 0, addBias: 0,
    layerNorm: 0, gelu: 0, geluErf: 0, geglu: 0, scale: 0, softcap: 0, attentionOptions: 0, attentionOptionsF16: 0, moeRoute: 0,
    moeCombine: 0 },
  cpu: { getRows: 0, rmsNorm: 0, rope: 0, kvStore: 0, attention: 1e-11, attentionF16: 1e-8, swiglu: 1e-13, add: 0, addBias: 0,
    layerNorm: 0, gelu: 1e-8, geluErf: 1e-12, geglu: 1e-8, scale: 0, softcap: 1e-11, attentionOptions: 1e-10,
    attentionOptionsF16: 1e-8, moeRoute: 0, moeCombine: 0 },
  webgpu: { getRows: 0, rmsNorm: 1e-12, rope: 1e-12, kvStore: 0, attention: 1e-9, attentionF16: 1e-6, swiglu: 1e-12, add: 1e-12, addBias: 1e-12,
    layerNorm: 0, gelu: 0, geluErf: 0, geglu: 0, scale: 0, softcap: 0, attentionOptions: 0, attentionOptionsF16: 0, moeRoute: 0,
    moeCombine: 0 },
};

/**
 * Matmul: the cpu kernels and the reference compute the same products of the same rounded activations (the
 * reference rounds through vec_dot_type, as ggml's CPU backend does) and differ only in summation order and
 * precision: 1e-11 (measured at most 4e-13); Q4_1 / Q5_1 have the reference decode f32(f32(q * d) + m), a
 * rounding as large as the min, seen at 1e-10 in a cancelling sum: 1e-9. A type without a wasm kernel falls back
 * to the reference: exact. The GPU multiplies f32 activations (the reference then runs unrounded): 1e-10, and
 * types converted to F16 on upload add that rounding: 1e-6.
 */
function matmulBound(kind: Kind, type: number): number {
  if (kind === 'ref') return 0;
  if (kind === 'cpu') return type === GGMLType.Q8_K ? 0 : type === GGMLType.Q4_1 || type === GGMLType.Q5_1 ? 1e-9 : 1e-11;
  return gpuTypeFor(type) === type || gpuTypeFor(type) === GGMLType.F32 ? 1e-10 : 1e-6;
}

interface Variant { label: string; kind: Kind; make: () => Backend }
const variants: Variant[] = [
  { label: 'ref', kind: 'ref', make: () => createRefBackend() },
  { label: 'cpu SIMD128, 1 thread', kind: 'cpu', make: () => createCpuBackend({ threads: 1, relaxed: false, minParallelWork: 0 }) },
  { label: 'cpu SIMD128, 2 threads', kind: 'cpu', make: () => createCpuBackend({ threads: 2, relaxed: false, minParallelWork: 0 }) },
];
if (relaxedSimdSupported()) {
  variants.push({ label: 'cpu relaxed SIMD, 2 threads', kind: 'cpu', make: () => createCpuBackend({ threads: 2, relaxed: true, minParallelWork: 0 }) });
}
let gpuSkip: string | undefined;
try {
  createWebGPUBackend().dispose();
  variants.push({ label: 'webgpu', kind: 'webgpu', make: () => createWebGPUBackend() });
} catch (e) {
  if (REQUIRE_WEBGPU) throw e;
  gpuSkip = `no WebGPU device: ${(e as Error).message}`;
}
test('webgpu takes part when a device opens', { skip: gpuSkip }, () => {});

const MATMUL_TYPES: GGMLTypeId[] = [GGMLType.F32, GGMLType.F16, GGMLType.BF16, GGMLType.Q4_0, GGMLType.Q4_1, GGMLType.Q5_0,
  GGMLType.Q5_1, GGMLType.Q8_0, GGMLType.Q2_K, GGMLType.Q3_K, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K, GGMLType.Q8_K];

const ROPE: RopeParams = {
  nRot: 16, freqBase: 10000, freqScale: 1, order: 'norm', extFactor: 0, attnFactor: 1, betaFast: 32, betaSlow: 1, nCtxOrig: 4096,
};

function packed(type: GGMLTypeId, rows: number, cols: number, seed: number): Uint8Array {
  const f = randn(rows * cols, seed);
  return type === GGMLType.F32 ? new Uint8Array(f.buffer) : quantizeTensor(type, f, cols);
}

function check(what: string, got: Float32Array, want: Float32Array, bound: number): void {
  const e = nmse(got, want);
  if (bound === 0) assert.deepEqual(got, want, `${what}: not bit-exact (NMSE ${e})`);
  else assert.ok(e <= bound, `${what}: NMSE ${e.toExponential(2)} > ${bound}`);
}

for (const v of variants) {
  describe(`backend ops: ${v.label}`, () => {
    const be = v.make();
    after(() => be.dispose());
    const B = BOUNDS[v.kind];
    /** A tensor of pad + data.length elements holding data at element pad, and the view of the data. */
    const put = (data: Float32Array, pad = 0, dtype: DType = 'f32'): Tensor => {
      const t = be.alloc(pad + data.length, dtype, 'scratch');
      const host = new Float32Array(pad + data.length);
      host.set(data, pad);
      be.upload(t, host);
      return view(t, pad, data.length);
    };
    const read = (t: Tensor) => readBack(be, t);
    const adopt = (type: GGMLTypeId, rows: number, cols: number, data: Uint8Array): WeightTensor => {
      const bytes = be.allocWeight(data.length);
      bytes.set(data);
      return be.adoptWeight({ name: `w_${typeName(type)}`, type, cols, rows, data: bytes });
    };

    test(`matmul, every type, odd shapes, 1 to 17 tokens, input and output at offsets (bounds: matmulBound)`, async () => {
      for (const type of MATMUL_TYPES) {
        if (v.kind === 'webgpu' && type === GGMLType.Q8_K) continue; // not a weight type the GPU takes
        const block = type === GGMLType.F32 || type === GGMLType.F16 || type === GGMLType.BF16 ? 1 : type >= GGMLType.Q2_K ? 256 : 32;
        const shapes: [number, number][] = block === 1 ? [[13, 3], [172, 37], [64, 64]] : [[block, 1], [3 * block, 7]];
        for (const [cols, rows] of shapes) {
          const data = packed(type, rows, cols, rows * 7 + cols + type);
          const host: WeightTensor = { name: 'w', type, cols, rows, data };
          const w = adopt(type, rows, cols, data);
          for (const nTok of [1, 3, 17]) {
            const x = randn(cols * nTok, nTok + cols);
            const want = new Float32Array(rows * nTok);
            refMatmul(host, x, nTok, want, v.kind !== 'webgpu');
            const y = put(new Float32Array(rows * nTok), 5);
            be.matmul(w, put(x, 3), nTok, y);
            check(`${typeName(type)} ${rows}x${cols}, ${nTok} tokens`, await read(y), want, matmulBound(v.kind, type));
          }
        }
      }
    });

    test(`getRows decodes rows exactly, output at an offset (NMSE ${B.getRows})`, async () => {
      for (const [type, cols] of [[GGMLType.F32, 67], [GGMLType.F16, 33], [GGMLType.Q8_0, 64], [GGMLType.Q4_0, 96],
        [GGMLType.Q4_K, 256], [GGMLType.Q6_K, 512]] as const) {
        const rows = 23;
        const data = packed(type, rows, cols, cols + type);
        const w = adopt(type, rows, cols, data);
        const ids = Int32Array.from([0, 22, 5, 5, 17]);
        const want = new Float32Array(ids.length * cols);
        ids.forEach((id, t) => refGetRow({ name: 'w', type, cols, rows, data }, id, want.subarray(t * cols, (t + 1) * cols)));
        const out = put(new Float32Array(ids.length * cols), 7);
        be.getRows(w, ids, out);
        check(`get-rows ${typeName(type)}`, await read(out), want, B.getRows);
      }
    });

    test(`rmsNorm over odd row lengths, at offsets (NMSE ${B.rmsNorm})`, async () => {
      for (const [n, rows] of [[64, 1], [172, 5], [7, 3], [1000, 2]]) {
        const x = randn(n * rows, n, 40);
        const w = randn(n, n + 1);
        const want = new Float32Array(n * rows);
        refRmsNorm(x, w, 1e-5, n, rows, want);
        const out = put(new Float32Array(n * rows), 2);
        be.rmsNorm(put(x, 3), put(w), 1e-5, n, rows, out);
        check(`rms_norm n=${n} rows=${rows}`, await read(out), want, B.rmsNorm);
      }
    });

    test(`rope: norm, neox, partial rotation, YaRN, frequency factors, at an offset (NMSE ${B.rope})`, async () => {
      const cases: [string, RopeParams, number][] = [
        ['norm', ROPE, 16],
        ['neox', { ...ROPE, order: 'neox' }, 16],
        ['norm partial', { ...ROPE, nRot: 8 }, 12],
        ['neox partial', { ...ROPE, nRot: 6, order: 'neox' }, 10],
        ['yarn', { ...ROPE, order: 'neox', freqScale: 0.25, extFactor: 1, nCtxOrig: 512 }, 16],
        ['freq factors', { ...ROPE, freqFactors: Float32Array.from({ length: 8 }, (_, i) => 1 + i / 2) }, 16],
      ];
      for (const [name, p, headDim] of cases) {
        const nTok = 3;
        const nHead = 5;
        const positions = Int32Array.from([0, 17, 3001]);
        const x = randn(nTok * nHead * headDim, headDim);
        const want = x.slice();
        refRope(want, nTok, nHead, headDim, positions, p);
        const t = put(x, 4);
        be.rope(t, nTok, nHead, headDim, positions, p);
        check(`rope ${name}`, await read(t), want, B.rope);
      }
    });

    test(`swiglu, add and addBias, tails and offsets (NMSE ${B.swiglu}, ${B.add}, ${B.addBias})`, async () => {
      for (const n of [1, 7, 1037]) {
        const g = randn(n, n, 3);
        const u = randn(n, n + 1);
        const want = g.slice();
        refSwiglu(want, u, n);
        const gt = put(g);
        be.swiglu(gt, put(u), n);
        check(`swiglu n=${n}`, await read(gt), want, B.swiglu);

        const a = randn(n, n + 2);
        const b = randn(n, n + 3);
        const wantAdd = a.slice();
        addInPlace(wantAdd, b, n);
        const at = put(a, 3);
        be.add(at, put(b, 5), n);
        check(`add n=${n}`, await read(at), wantAdd, B.add);
      }
      const cols = 13;
      const rows = 7;
      const x = randn(cols * rows, 5);
      const bias = randn(cols, 6);
      const want = x.slice();
      refAddBias(want, bias, cols, rows);
      const xt = put(x, 1);
      be.addBias(xt, put(bias), cols, rows);
      check('add_bias', await read(xt), want, B.addBias);
    });

    test(`kvStore: K/V rows into f32 and f16 caches at a position, the f16 rounding done by the backend (NMSE ${B.kvStore})`, async () => {
      const kvDim = 24;
      const n = 5;
      const pos0 = 2;
      for (const dtype of ['f32', 'f16'] as const) {
        const k = randn(n * kvDim, 21, 50);
        const vals = randn(n * kvDim, 22, 1e-3);
        const kc = be.alloc((n + 4) * kvDim, dtype, 'kv');
        const vc = be.alloc((n + 4) * kvDim, dtype, 'kv');
        be.kvStore(put(k, 2 * kvDim), put(vals, 2 * kvDim), view(kc, pos0 * kvDim, n * kvDim), view(vc, pos0 * kvDim, n * kvDim));
        const held = (x: Float32Array) => {
          const out = new Float32Array((n + 4) * kvDim);
          out.set(dtype === 'f16' ? x.map(roundF16) : x, pos0 * kvDim);
          return out;
        };
        check(`kvStore K ${dtype}`, await read(kc), held(k), B.kvStore);
        check(`kvStore V ${dtype}`, await read(vc), held(vals), B.kvStore);
        be.free(kc);
        be.free(vc);
      }
    });

    for (const f16 of [false, true]) {
      const op = f16 ? 'attentionF16' : 'attention';
      test(`attention over ${f16 ? 'an f16' : 'an f32'} cache: grouped heads, several tokens at pos0, q and out at offsets (NMSE ${B[op]})`, async () => {
        const cases = [
          { nHead: 2, nHeadKv: 1, headDim: 8, pos0: 0, nTok: 1 },
          { nHead: 8, nHeadKv: 4, headDim: 8, pos0: 5, nTok: 3 }, // stories260K's shape
          { nHead: 6, nHeadKv: 2, headDim: 48, pos0: 130, nTok: 5 }, // crosses 64-position chunks
          { nHead: 4, nHeadKv: 4, headDim: 64, pos0: 300, nTok: 1 }, // a decode step deep in the context
          { nHead: 3, nHeadKv: 3, headDim: 132, pos0: 0, nTok: 70 }, // headDim > 2 * 64
          { nHead: 4, nHeadKv: 1, headDim: 256, pos0: 63, nTok: 2 },
          { nHead: 2, nHeadKv: 1, headDim: 6, pos0: 2, nTok: 2 }, // a head size the wasm kernel leaves to the reference
        ];
        for (const c of cases) {
          const kvDim = c.nHeadKv * c.headDim;
          const nCtx = c.pos0 + c.nTok + 3;
          // keys scaled up so the softmax is far from uniform; an f16 cache holds the values rounded to half
          const k = randn(nCtx * kvDim, 11 + c.headDim, 3);
          const vals = randn(nCtx * kvDim, 12 + c.headDim);
          const q = randn(c.nTok * c.nHead * c.headDim, 13 + c.headDim, 2);
          const s: AttentionShape = { nHead: c.nHead, nHeadKv: c.nHeadKv, headDim: c.headDim, scale: 1 / Math.sqrt(c.headDim), f16 };
          const held = (x: Float32Array) => (f16 ? x.map(roundF16) : x);
          const want = new Float32Array(q.length);
          refAttention(q, held(k), held(vals), c.nTok, c.pos0, s, want);
          // the caches filled by kvStore, as the forward pass fills them: history, then this batch
          const dtype = f16 ? 'f16' : 'f32';
          const kc = be.alloc(nCtx * kvDim, dtype, 'kv');
          const vc = be.alloc(nCtx * kvDim, dtype, 'kv');
          const kt = put(k);
          const vt = put(vals);
          const rows = (t: Tensor, p0: number, p1: number) => view(t, p0 * kvDim, (p1 - p0) * kvDim);
          if (c.pos0) be.kvStore(rows(kt, 0, c.pos0), rows(vt, 0, c.pos0), rows(kc, 0, c.pos0), rows(vc, 0, c.pos0));
          const end = c.pos0 + c.nTok;
          be.kvStore(rows(kt, c.pos0, end), rows(vt, c.pos0, end), rows(kc, c.pos0, end), rows(vc, c.pos0, end));
          const out = put(new Float32Array(q.length), 1);
          be.attention(put(q, 3), kc, vc, c.nTok, c.pos0, s, out);
          check(`attention heads ${c.nHead}/${c.nHeadKv} dim ${c.headDim} pos0 ${c.pos0} n ${c.nTok}`, await read(out), want, B[op]);
          be.free(kc);
          be.free(vc);
        }
      });
    }

    test(`layerNorm with and without weight and bias, odd rows, at offsets (NMSE ${B.layerNorm})`, async () => {
      for (const [n, rows] of [[64, 1], [172, 5], [7, 3], [1000, 2]]) {
        const x = randn(n * rows, n + 7, 4).map((v) => v + 3); // a mean far from 0
        const w = randn(n, n + 8);
        const bias = randn(n, n + 9);
        for (const [wt, bs] of [[w, bias], [w, undefined], [undefined, undefined]] as const) {
          const want = new Float32Array(n * rows);
          refLayerNorm(x, wt, bs, 1e-5, n, rows, want);
          const out = put(new Float32Array(n * rows), 2);
          be.layerNorm(put(x, 3), wt && put(wt), bs && put(bs, 1), 1e-5, n, rows, out);
          check(`layer_norm n=${n} rows=${rows} weight ${!!wt} bias ${!!bs}`, await read(out), want, B.layerNorm);
        }
      }
    });

    test(`gelu, geluErf, geglu, scale and softcap over every region, tails and offsets (NMSE ${B.gelu}, ${B.geluErf}, ${B.geglu}, ${B.scale}, ${B.softcap})`, async () => {
      for (const n of [1, 7, 1037]) {
        const x = randn(n, n + 30, 6); // spans gelu's +-10 cut-offs
        if (n > 20) x.set([-10, 10, -9.999, 10.001, 0, 65504, -65504, 1e-8, 1.4, -1.4, 1.39, 1.41]); // softcap 3.5: tanh's 0.4 seam
        const u = randn(n, n + 31);
        const cases: [string, number, (d: Float32Array) => void, (t: Tensor) => void][] = [
          ['gelu', B.gelu, (d) => refGelu(d, n), (t) => be.gelu(t, n)],
          ['geluErf', B.geluErf, (d) => refGeluErf(d, n), (t) => be.geluErf(t, n)],
          ['scale', B.scale, (d) => refScale(d, 0.37, n), (t) => be.scale(t, 0.37, n)],
          ['softcap', B.softcap, (d) => refSoftcap(d, 3.5, n), (t) => be.softcap(t, 3.5, n)],
          ['softcap 50', B.softcap, (d) => refSoftcap(d, 50, n), (t) => be.softcap(t, 50, n)],
        ];
        for (const [name, bound, want, run] of cases) {
          const expect = x.slice();
          want(expect);
          const t = put(x, 3);
          run(t);
          check(`${name} n=${n}`, await read(t), expect, bound);
        }
        const expect = x.slice();
        refGeglu(expect, u, n);
        const g = put(x, 1);
        be.geglu(g, put(u, 2), n);
        check(`geglu n=${n}`, await read(g), expect, B.geglu);
      }
    });

    test(`attention with options: every combination of causal / non-causal, window, soft-cap, full and ring caches, over f32 and f16 caches (NMSE ${B.attentionOptions}, ${B.attentionOptionsF16}; defaults as plain attention)`, async () => {
      const options: AttentionOptions[] = [];
      for (const causal of [true, false]) {
        for (const window of [undefined, 1, 3, 8]) {
          for (const softcap of [undefined, 1.5, 30]) options.push({ causal, window, softcap });
        }
      }
      const cases = [
        { nHead: 4, nHeadKv: 2, headDim: 8, pos0: 5, nTok: 3 },
        { nHead: 2, nHeadKv: 1, headDim: 6, pos0: 0, nTok: 7 }, // the reference path of the wasm backend
        { nHead: 4, nHeadKv: 4, headDim: 64, pos0: 9, nTok: 1 },
        { nHead: 6, nHeadKv: 2, headDim: 16, pos0: 17, nTok: 13 },
      ];
      for (const f16 of [false, true]) {
        const bound = B[f16 ? 'attentionOptionsF16' : 'attentionOptions'];
        for (const c of cases) {
          const kvDim = c.nHeadKv * c.headDim;
          const nCtx = c.pos0 + c.nTok;
          const k = randn(nCtx * kvDim, 41 + c.headDim, 3);
          const vals = randn(nCtx * kvDim, 42 + c.headDim);
          const q = randn(c.nTok * c.nHead * c.headDim, 43 + c.headDim, 2);
          const s: AttentionShape = { nHead: c.nHead, nHeadKv: c.nHeadKv, headDim: c.headDim, scale: 1 / Math.sqrt(c.headDim), f16 };
          const held = (x: Float32Array) => (f16 ? x.map(roundF16) : x);
          const dtype = f16 ? 'f16' : 'f32';
          const kc = be.alloc(nCtx * kvDim, dtype, 'kv');
          const vc = be.alloc(nCtx * kvDim, dtype, 'kv');
          be.kvStore(put(k), put(vals), kc, vc);
          const what = (o: AttentionOptions) => `attention ${JSON.stringify(o)} ${dtype} heads ${c.nHead}/${c.nHeadKv} dim ${c.headDim} pos0 ${c.pos0} n ${c.nTok}`;
          for (const o of options) {
            const want = new Float32Array(q.length);
            refAttention(q, held(k), held(vals), c.nTok, c.pos0, s, want, o);
            const out = put(new Float32Array(q.length), 1);
            be.attention(put(q, 3), kc, vc, c.nTok, c.pos0, s, out, o);
            check(what(o), await read(out), want, isPlainCausal(o) ? B[f16 ? 'attentionF16' : 'attention'] : bound);
            // a causal window over a ring of window + nTok - 1 rows (the fewest that hold every key), written
            // position by position in order as the forward pass writes it
            if (!(o.causal ?? true) || o.window === undefined) continue;
            const size = o.window + c.nTok - 1;
            const rk = be.alloc(size * kvDim, dtype, 'kv');
            const rv = be.alloc(size * kvDim, dtype, 'kv');
            const kt = put(k);
            const vt = put(vals);
            for (let p = 0; p < nCtx; p++) {
              const r = p % size;
              be.kvStore(view(kt, p * kvDim, kvDim), view(vt, p * kvDim, kvDim), view(rk, r * kvDim, kvDim), view(rv, r * kvDim, kvDim));
            }
            const ro = { ...o, ring: { size } };
            const ringOut = put(new Float32Array(q.length), 2);
            be.attention(put(q, 1), rk, rv, c.nTok, c.pos0, s, ringOut, ro);
            check(`${what(ro)} (ring)`, await read(ringOut), want, bound);
            be.free(rk);
            be.free(rv);
          }
          // options that ask for nothing but the causal mask take the plain kernel
          const want = new Float32Array(q.length);
          refAttention(q, held(k), held(vals), c.nTok, c.pos0, s, want);
          const out = put(new Float32Array(q.length));
          be.attention(put(q), kc, vc, c.nTok, c.pos0, s, out, { causal: true });
          check(`attention {causal: true} ${dtype}`, await read(out), want, B[f16 ? 'attentionF16' : 'attention']);
          be.free(kc);
          be.free(vc);
        }
      }
    });

    test(`moeRoute: top-k of the softmax, with and without renormalising, logits at an offset (NMSE ${B.moeRoute})`, async () => {
      for (const [nTok, nExpert, nUsed] of [[1, 8, 2], [5, 16, 4], [3, 7, 7]]) {
        const logits = randn(nTok * nExpert, nTok * 31 + nExpert, 2);
        for (const normalize of [true, false]) {
          const want = refMoeRoute(logits, nTok, nExpert, nUsed, normalize);
          const got = be.moeRoute(put(logits, 3), nTok, nExpert, nUsed, normalize);
          assert.deepEqual(got.ids, want.ids, `route ids ${nTok}x${nExpert} top-${nUsed}`);
          check(`route weights ${nTok}x${nExpert} top-${nUsed} normalize ${normalize}`, got.weights, want.weights, B.moeRoute);
        }
      }
    });

    test('matmulId: each row by its expert, batched by expert, every expert or none used, at offsets (bounds: matmulBound)', async () => {
      const nExpert = 5;
      for (const type of [GGMLType.F32, GGMLType.F16, GGMLType.Q8_0, GGMLType.Q4_K, GGMLType.Q6_K]) {
        const block = type === GGMLType.F32 || type === GGMLType.F16 ? 1 : type >= GGMLType.Q2_K ? 256 : 32;
        const cols = block === 1 ? 40 : 2 * block;
        const rows = 9;
        const hosts: WeightTensor[] = [];
        const experts: WeightTensor[] = [];
        for (let e = 0; e < nExpert; e++) {
          const data = packed(type, rows, cols, 100 * e + type);
          hosts.push({ name: `w${e}`, type, cols, rows, data });
          experts.push(adopt(type, rows, cols, data));
        }
        const nIn = 4;
        const x = randn(nIn * cols, cols + type);
        // expert 3 takes no row, expert 1 several; rows of x repeat and come out of order
        const ids = Int32Array.from([1, 0, 4, 1, 2, 1, 0]);
        const src = Int32Array.from([0, 0, 3, 2, 1, 3, 2]);
        const want = new Float32Array(ids.length * rows);
        ids.forEach((e, i) => refMatmul(hosts[e], x.subarray(src[i] * cols, (src[i] + 1) * cols), 1,
          want.subarray(i * rows, (i + 1) * rows), v.kind !== 'webgpu'));
        const y = put(new Float32Array(ids.length * rows), 6);
        be.matmulId(experts, put(x, 2), src, ids, y);
        check(`matmulId ${typeName(type)} ${rows}x${cols}`, await read(y), want, matmulBound(v.kind, type));
      }
    });

    test(`moeCombine: the experts' rows weighted and summed in slot order, at offsets (NMSE ${B.moeCombine})`, async () => {
      for (const [nTok, nUsed, n] of [[1, 1, 7], [3, 4, 37], [2, 8, 256]]) {
        const experts = randn(nTok * nUsed * n, n + nUsed);
        const weights = randn(nTok * nUsed, n + 1).map(Math.abs);
        const want = new Float32Array(nTok * n);
        refMoeCombine(experts, weights, nTok, nUsed, n, want);
        const out = put(new Float32Array(nTok * n), 4);
        be.moeCombine(put(experts, 5), weights, nTok, nUsed, n, out);
        check(`moeCombine ${nTok} tokens x ${nUsed} experts x ${n}`, await read(out), want, B.moeCombine);
      }
    });

    test('memory() counts what is allocated, and free() returns it', async () => {
      const before = be.memory();
      const t = be.alloc(1000, 'f16', 'kv');
      await read(put(new Float32Array(1)));
      const mid = be.memory();
      assert.ok(mid.kv - before.kv >= 2000 && mid.kv - before.kv <= 2000 + 64, `kv bytes ${mid.kv - before.kv}`);
      be.free(t);
      assert.equal(be.memory().kv, before.kv);
    });
  });
}
