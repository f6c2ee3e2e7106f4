// Conformance: RMSNorm, RoPE (norm, neox, partial rotation, YaRN, frequency factors), SwiGLU, add, add-bias,
// KV-cache append and attention (f32 and f16 caches, grouped-query heads, several tokens at a non-zero pos0)
// against the reference TypeScript kernels, on random data and odd shapes.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { addBias as refAddBias, addInPlace, rmsNorm as refRmsNorm, swiglu as refSwiglu } from '../ref/ops.ts';
import { rope as refRope, type RopeParams } from '../ref/rope.ts';
import { attention as refAttention } from '../ref/attention.ts';
import { roundF16 } from '../../util/f16.ts';
import { createRefBackend } from '../ref/backend.ts';
import { view } from '../backend.ts';
import { readNow, tensorFrom } from '../test-tensors.ts';
import { KernelSet } from './kernel-set.ts';
import { Recorder, type GpuKv } from './recorder.ts';
import { ropeTable } from './rope-table.ts';
import { probeGpu, randn, nmse } from './test-util.ts';
import type { GpuDevice } from './gpu-device.ts';

const probe = await probeGpu();
const skip = probe.reason;
const gd = probe.gd as GpuDevice;
after(() => gd?.destroy());

/** Element-wise kernels: f32 on both sides, only exp / sqrt / summation order differ. */
const BOUND = 1e-12;
/** Attention: sums over positions and dimensions in another order; f16 rounding of weights may differ by 1 ulp. */
const BOUND_ATTN = 1e-9;
const BOUND_ATTN_F16 = 1e-6;

/** Record with `fn`, submit, then run the read-back it returned. */
async function run(fn: (ks: KernelSet, rec: Recorder) => Promise<() => Promise<Float32Array>>): Promise<Float32Array> {
  const ks = new KernelSet(gd);
  return ks.checked('op', async () => {
    const rec = new Recorder(ks);
    const read = await fn(ks, rec);
    rec.submit();
    return read();
  });
}

function check(name: string, got: Float32Array, want: Float32Array, bound: number): void {
  const e = nmse(got, want);
  console.log(`# ${name}: NMSE ${e.toExponential(2)}`);
  assert.ok(e < bound, `${name}: NMSE ${e} >= ${bound}`);
}

test('rms_norm matches ref on odd row lengths', { skip }, async () => {
  for (const [n, rows] of [[64, 1], [172, 5], [7, 3], [1000, 2]]) {
    const x = randn(n * rows, n);
    const w = randn(n, n + 1);
    const want = new Float32Array(n * rows);
    refRmsNorm(x, w, 1e-5, n, rows, want);
    const got = await run(async (ks, rec) => {
      const xb = ks.upload(x, 'x');
      const out = ks.storage(x.byteLength + 8, 'out');
      rec.rmsNorm(xb, 0, ks.upload(w, 'w'), 1e-5, n, rows, out, 2);
      return () => ks.readF32(out, 2, n * rows);
    });
    check(`rms_norm n=${n} rows=${rows}`, got, want, BOUND);
  }
});

const ROPE: RopeParams = {
  nRot: 16, freqBase: 10000, freqScale: 1, order: 'norm', extFactor: 0, attnFactor: 1, betaFast: 32, betaSlow: 1, nCtxOrig: 4096,
};

test('rope matches ref: norm, neox, partial rotation, YaRN and frequency factors', { skip }, async () => {
  const variants: [string, RopeParams, number][] = [
    ['norm', ROPE, 16],
    ['neox', { ...ROPE, order: 'neox' }, 16],
    ['norm partial', { ...ROPE, nRot: 8 }, 12],
    ['neox partial', { ...ROPE, nRot: 6, order: 'neox' }, 10],
    ['yarn', { ...ROPE, order: 'neox', freqScale: 0.25, extFactor: 1, nCtxOrig: 512 }, 16],
    ['freq factors', { ...ROPE, freqFactors: Float32Array.from({ length: 8 }, (_, i) => 1 + i / 2) }, 16],
  ];
  for (const [name, p, headDim] of variants) {
    const nTok = 3;
    const nHead = 5;
    const positions = [0, 17, 3001];
    const x = randn(nTok * nHead * headDim, headDim);
    const want = x.slice();
    refRope(want, nTok, nHead, headDim, positions, p);
    const got = await run(async (ks, rec) => {
      const xb = ks.upload(x, 'x');
      rec.rope(xb, 0, nTok, nHead, headDim, p.nRot, p.order === 'neox', ks.upload(ropeTable(p, positions), 'cs'));
      return () => ks.readF32(xb, 0, x.length);
    });
    check(`rope ${name}`, got, want, BOUND);
  }
});

test('swiglu, add and add_bias match ref', { skip }, async () => {
  const n = 1037;
  const g = randn(n, 1, 3);
  const u = randn(n, 2);
  const want = g.slice();
  refSwiglu(want, u, n);
  check('swiglu', await run(async (ks, rec) => {
    const gb = ks.upload(g, 'g');
    rec.swiglu(gb, ks.upload(u, 'u'), n);
    return () => ks.readF32(gb, 0, n);
  }), want, BOUND);

  const a = randn(n + 3, 3);
  const b = randn(n + 5, 4);
  const wantAdd = a.slice();
  addInPlace(wantAdd.subarray(3), b.subarray(5), n);
  check('add', await run(async (ks, rec) => {
    const ab = ks.upload(a, 'a');
    rec.add(ab, 3, ks.upload(b, 'b'), 5, n);
    return () => ks.readF32(ab, 0, n + 3);
  }), wantAdd, BOUND);

  const cols = 13;
  const rows = 7;
  const x = randn(cols * rows + 1, 5);
  const bias = randn(cols, 6);
  const wantBias = x.slice();
  refAddBias(wantBias.subarray(1), bias, cols, rows);
  check('add_bias', await run(async (ks, rec) => {
    const xb = ks.upload(x, 'x');
    rec.addBias(xb, 1, ks.upload(bias, 'bias'), cols, rows);
    return () => ks.readF32(xb, 0, x.length);
  }), wantBias, BOUND);
});

interface AttnCase { nHead: number; nHeadKv: number; headDim: number; pos0: number; nTok: number; f16: boolean }

async function attentionCase(c: AttnCase): Promise<{ got: Float32Array; want: Float32Array }> {
  const kvDim = c.nHeadKv * c.headDim;
  const nCtx = c.pos0 + c.nTok + 3;
  const kNew = randn(nCtx * kvDim, 11 + c.headDim);
  const vNew = randn(nCtx * kvDim, 12 + c.headDim);
  const q = randn(c.nTok * c.nHead * c.headDim, 13 + c.headDim, 2);
  const scale = 1 / Math.sqrt(c.headDim);
  // Reference: what an f16 cache holds (the values rounded to half) or the f32 values.
  const held = (x: Float32Array) => (c.f16 ? x.map(roundF16) : x);
  const want = new Float32Array(c.nTok * c.nHead * c.headDim);
  refAttention(q, held(kNew), held(vNew), c.nTok, c.pos0, { nHead: c.nHead, nHeadKv: c.nHeadKv, headDim: c.headDim, scale, f16: c.f16 }, want);
  const got = await run(async (ks, rec) => {
    const kind = ks.kvStorage(c.f16);
    const bytes = nCtx * kvDim * (kind === 'f32' ? 4 : 2);
    const kv: GpuKv = { k: ks.storage(bytes, 'k'), v: ks.storage(bytes, 'v'), kind };
    const kb = ks.upload(kNew, 'knew');
    const vb = ks.upload(vNew, 'vnew');
    rec.kvStore(kb, vb, 0, c.pos0 * kvDim, kv, 0);
    rec.kvStore(kb, vb, c.pos0 * kvDim, c.nTok * kvDim, kv, c.pos0 * kvDim);
    const out = ks.storage(want.byteLength + 4, 'out');
    rec.attention(ks.upload(q, 'q'), 0, kv, c.nTok, c.pos0, { nHead: c.nHead, nHeadKv: c.nHeadKv, headDim: c.headDim, scale }, out, 1);
    return () => ks.readF32(out, 1, want.length);
  });
  return { got, want };
}

for (const f16 of [false, true]) {
  test(`attention over a GPU KV cache (${f16 ? 'f16' : 'f32'}) matches ref`, { skip }, async () => {
    const cases: AttnCase[] = [
      { nHead: 2, nHeadKv: 1, headDim: 8, pos0: 0, nTok: 1, f16 },
      { nHead: 8, nHeadKv: 4, headDim: 8, pos0: 5, nTok: 3, f16 }, // stories260K's shape
      { nHead: 6, nHeadKv: 2, headDim: 48, pos0: 130, nTok: 5, f16 }, // crosses 64-position chunks
      { nHead: 3, nHeadKv: 3, headDim: 130, pos0: 0, nTok: 70, f16 }, // headDim > 2 * 64
      { nHead: 4, nHeadKv: 1, headDim: 256, pos0: 63, nTok: 2, f16 },
    ];
    for (const c of cases) {
      const { got, want } = await attentionCase(c);
      check(`attention ${f16 ? 'f16' : 'f32'} heads ${c.nHead}/${c.nHeadKv} dim ${c.headDim} pos0 ${c.pos0} n ${c.nTok}`,
        got, want, f16 ? BOUND_ATTN_F16 : BOUND_ATTN);
    }
  });
}

test('kv append stores exactly what the reference backend stores (f16 rounding included)', { skip }, async () => {
  const kvDim = 24;
  const n = 5;
  for (const f16 of [false, true]) {
    const k = randn(n * kvDim, 21, 50);
    const v = randn(n * kvDim, 22, 1e-3);
    const rb = createRefBackend();
    const cache = [rb.alloc((n + 2) * kvDim, f16 ? 'f16' : 'f32', 'kv'), rb.alloc((n + 2) * kvDim, f16 ? 'f16' : 'f32', 'kv')];
    rb.kvStore(tensorFrom(rb, k), tensorFrom(rb, v), view(cache[0], 2 * kvDim, n * kvDim), view(cache[1], 2 * kvDim, n * kvDim));
    const [gotK, gotV] = await (async () => {
      const ks = new KernelSet(gd);
      const kind = ks.kvStorage(f16);
      const bytes = (n + 2) * kvDim * (kind === 'f32' ? 4 : 2);
      const kv: GpuKv = { k: ks.storage(bytes, 'k'), v: ks.storage(bytes, 'v'), kind };
      const rec = new Recorder(ks);
      rec.kvStore(ks.upload(k, 'k'), ks.upload(v, 'v'), 0, n * kvDim, kv, 2 * kvDim);
      rec.submit();
      if (kind === 'f32') return [await ks.readF32(kv.k, 0, (n + 2) * kvDim), await ks.readF32(kv.v, 0, (n + 2) * kvDim)];
      const { f16Table } = await import('../../util/f16.ts');
      const tab = f16Table();
      const dec = (b: ArrayBuffer) => Float32Array.from(new Uint16Array(b), (h) => tab[h]);
      return [dec(await ks.read(kv.k, 0, bytes)), dec(await ks.read(kv.v, 0, bytes))];
    })();
    assert.deepEqual(gotK, readNow(rb, cache[0]), `K f16=${f16}`);
    assert.deepEqual(gotV, readNow(rb, cache[1]), `V f16=${f16}`);
  }
});
