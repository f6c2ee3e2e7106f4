// The optional-feature paths: matmul reduced with subgroupAdd (`subgroups`) and the KV cache in f16 storage
// (`shader-f16`). Each runs only where the adapter has the feature and says so when skipped; on an adapter that
// has them, the portable paths (shared-memory reduction, packed f16 pairs) are checked too by opening a second
// device with the features turned off.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { GGMLType } from '../../gguf/ggml-types.ts';
import { quantizeTensor } from '../../quant/index.ts';
import { matmul as refMatmul } from '../ref/matmul.ts';
import { attention as refAttention } from '../ref/attention.ts';
import { roundF16 } from '../../util/f16.ts';
import { KernelSet } from './kernel-set.ts';
import { Recorder } from './recorder.ts';
import { uploadWeight } from './weights.ts';
import { probeGpu, randn, nmse } from './test-util.ts';
import type { GpuDevice } from './gpu-device.ts';

const probe = await probeGpu();
const gd = probe.gd;
const caps = gd?.caps;
const name = gd?.description ?? '';
const noSubgroups = probe.reason ?? (caps!.subgroups ? undefined : `skipped: the adapter has no 'subgroups' feature (${name})`);
const noF16 = probe.reason ?? (caps!.f16 ? undefined : `skipped: the adapter has no 'shader-f16' feature (${name})`);
const portable = await (caps && (caps.f16 || caps.subgroups) ? probeGpu({ disableF16: true, disableSubgroups: true }) : undefined);
const noPortable = probe.reason ?? (portable ? portable.reason : `skipped: the adapter has neither feature, so every other test already ran the portable paths (${name})`);
after(() => { gd?.destroy(); portable?.gd?.destroy(); });

async function matmulNmse(g: GpuDevice): Promise<number> {
  const rows = 29;
  const cols = 512;
  const nTok = 9;
  const f = randn(rows * cols, 1);
  const w = { name: 'w', type: GGMLType.Q4_K, rows, cols, data: quantizeTensor(GGMLType.Q4_K, f, cols) };
  const x = randn(nTok * cols, 2);
  const want = new Float32Array(nTok * rows);
  refMatmul(w, x, nTok, want, false);
  const ks = new KernelSet(g);
  const got = await ks.checked('matmul', async () => {
    const gw = uploadWeight(ks, w, () => {});
    const y = ks.storage(want.byteLength, 'y');
    const rec = new Recorder(ks);
    rec.matmul(gw, ks.upload(x, 'x'), 0, nTok, y, 0);
    rec.submit();
    return ks.readF32(y, 0, want.length);
  });
  return nmse(got, want);
}

async function attentionNmse(g: GpuDevice): Promise<number> {
  const nHead = 4, nHeadKv = 2, headDim = 64, pos0 = 70, nTok = 3;
  const kvDim = nHeadKv * headDim;
  const nCtx = pos0 + nTok;
  const k = randn(nCtx * kvDim, 3);
  const v = randn(nCtx * kvDim, 4);
  const q = randn(nTok * nHead * headDim, 5);
  const want = new Float32Array(q.length);
  const scale = 1 / Math.sqrt(headDim);
  // the reference over what an f16 cache holds
  refAttention(q, k.map(roundF16), v.map(roundF16), nTok, pos0, { nHead, nHeadKv, headDim, scale, f16: true }, want);
  const ks = new KernelSet(g);
  const got = await ks.checked('attention', async () => {
    const kind = ks.kvStorage(true);
    const kv = { k: ks.storage(nCtx * kvDim * 2, 'k'), v: ks.storage(nCtx * kvDim * 2, 'v'), kind };
    const out = ks.storage(want.byteLength, 'out');
    const rec = new Recorder(ks);
    rec.kvStore(ks.upload(k, 'k'), ks.upload(v, 'v'), 0, nCtx * kvDim, kv, 0);
    rec.attention(ks.upload(q, 'q'), 0, kv, nTok, pos0, { nHead, nHeadKv, headDim, scale }, out, 0);
    rec.submit();
    return ks.readF32(out, 0, want.length);
  });
  return nmse(got, want);
}

test('subgroups: matmul reduced with subgroupAdd matches ref (NMSE < 1e-10)', { skip: noSubgroups }, async () => {
  const e = await matmulNmse(gd!);
  console.log(`# subgroup matmul Q4_K: NMSE ${e.toExponential(2)}`);
  assert.ok(e < 1e-10);
});

test('shader-f16: attention over an f16-storage KV cache matches ref (NMSE < 1e-6)', { skip: noF16 }, async () => {
  assert.equal(new KernelSet(gd!).kvStorage(true), 'f16');
  const e = await attentionNmse(gd!);
  console.log(`# f16-storage attention: NMSE ${e.toExponential(2)}`);
  assert.ok(e < 1e-6);
});

test('portable paths on a feature-rich adapter: shared-memory reduction and packed f16 pairs', { skip: noPortable }, async () => {
  const g = portable!.gd!;
  assert.equal(new KernelSet(g).kvStorage(true), 'f16p');
  assert.ok(await matmulNmse(g) < 1e-10);
  assert.ok(await attentionNmse(g) < 1e-6);
});
