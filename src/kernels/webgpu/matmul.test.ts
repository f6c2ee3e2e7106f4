// Conformance: the WGSL matmul and get-rows kernels against the reference TypeScript kernels (src/kernels/ref/),
// for every type with a native kernel and two that are converted on upload, on random data and odd shapes.
// The reference runs without activation rounding: the GPU multiplies f32 activations by the decoded weights.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { GGMLType, rowBytes, typeName, type GGMLTypeId } from '../../gguf/ggml-types.ts';
import { quantizeTensor } from '../../quant/index.ts';
import { matmul as refMatmul, getRow as refGetRow } from '../ref/matmul.ts';
import type { WeightTensor } from '../backend.ts';
import { KernelSet } from './kernel-set.ts';
import { Recorder } from './recorder.ts';
import { uploadWeight, destroyWeight } from './weights.ts';
import { probeGpu, randn, nmse } from './test-util.ts';
import type { GpuDevice } from './gpu-device.ts';

const probe = await probeGpu();
const skip = probe.reason;
const gd = probe.gd;
if (gd) console.log(`# webgpu adapter: ${gd.description}`);
after(() => gd?.destroy());

/** NMSE bounds: the GPU sums in f32 in another order than the reference's f64; F16 fallback adds rounding. */
const BOUND = 1e-10;
const BOUND_CONVERTED = 1e-6;

function weight(type: GGMLTypeId, rows: number, cols: number, seed: number): WeightTensor {
  const f = randn(rows * cols, seed);
  const data = type === GGMLType.F32 ? new Uint8Array(f.buffer) : quantizeTensor(type, f, cols);
  return { name: `w_${typeName(type)}`, type, cols, rows, data };
}

async function gpuMatmul(g: GpuDevice, w: WeightTensor, x: Float32Array, nTok: number, limit?: number): Promise<Float32Array> {
  const ks = new KernelSet(g);
  return ks.checked('matmul', async () => {
    const gw = uploadWeight(ks, w, () => {}, limit);
    if (limit) assert.ok(gw.parts.length > 1, 'the small binding limit splits the weight');
    const xb = ks.upload(x, 'x');
    const yb = ks.storage(nTok * w.rows * 4, 'y');
    const rec = new Recorder(ks);
    rec.matmul(gw, xb, 0, nTok, yb, 0);
    rec.submit();
    const y = await ks.readF32(yb, 0, nTok * w.rows);
    destroyWeight(gw);
    xb.destroy();
    yb.destroy();
    return y;
  });
}

const CASES: [GGMLTypeId, number, number, number[]][] = [
  // type, rows, cols, token counts
  [GGMLType.F32, 37, 172, [1, 3, 9]],
  [GGMLType.F32, 1, 1, [1, 2]],
  [GGMLType.F16, 19, 65, [1, 9]],
  [GGMLType.F16, 64, 64, [17]],
  [GGMLType.Q8_0, 41, 96, [1, 8, 11]],
  [GGMLType.Q4_0, 33, 224, [1, 5, 16]],
  [GGMLType.Q4_K, 13, 512, [1, 9]],
  [GGMLType.Q6_K, 21, 256, [1, 10]],
  [GGMLType.Q6_K, 3, 768, [2]],
];

for (const [type, rows, cols, toks] of CASES) {
  test(`matmul ${typeName(type)} [${rows} x ${cols}] matches ref (NMSE < ${BOUND})`, { skip }, async () => {
    const w = weight(type, rows, cols, rows * 7 + cols);
    for (const nTok of toks) {
      const x = randn(nTok * cols, nTok + 100);
      const want = new Float32Array(nTok * rows);
      refMatmul(w, x, nTok, want, false);
      const got = await gpuMatmul(gd!, w, x, nTok);
      const e = nmse(got, want);
      console.log(`# matmul ${typeName(type)} rows=${rows} cols=${cols} nTok=${nTok}: NMSE ${e.toExponential(2)}`);
      assert.ok(e < BOUND, `NMSE ${e} for nTok=${nTok}`);
    }
  });
}

for (const type of [GGMLType.Q5_0, GGMLType.Q2_K] as const) {
  test(`matmul ${typeName(type)} runs converted to F16 on upload (NMSE < ${BOUND_CONVERTED})`, { skip }, async () => {
    const cols = 256;
    const w = weight(type, 11, cols, 5);
    const x = randn(3 * cols, 6);
    const want = new Float32Array(3 * 11);
    refMatmul(w, x, 3, want, false);
    const got = await gpuMatmul(gd!, w, x, 3);
    const e = nmse(got, want);
    console.log(`# matmul ${typeName(type)} (as F16): NMSE ${e.toExponential(2)}`);
    assert.ok(e < BOUND_CONVERTED, `NMSE ${e}`);
    assert.ok(e > 0, 'F16 conversion rounds some weights');
  });
}

test('matmul over a weight split across bindings matches the unsplit result', { skip }, async () => {
  const w = weight(GGMLType.Q8_0, 50, 64, 9);
  const x = randn(3 * 64, 10);
  const want = new Float32Array(3 * 50);
  refMatmul(w, x, 3, want, false);
  const got = await gpuMatmul(gd!, w, x, 3, 7 * 68); // 7 rows of 68 bytes per binding
  assert.ok(nmse(got, want) < BOUND);
});

test('get-rows decodes embedding rows of every native type exactly', { skip }, async () => {
  for (const [type, cols] of [[GGMLType.F32, 67], [GGMLType.F16, 33], [GGMLType.Q8_0, 64], [GGMLType.Q4_0, 96],
    [GGMLType.Q4_K, 256], [GGMLType.Q6_K, 512]] as const) {
    const rows = 23;
    const w = weight(type, rows, cols, cols + type);
    const ids = Uint32Array.from([0, 22, 5, 5, 17]);
    for (const limit of [undefined, 4 * rowBytes(type, cols)]) {
      const ks = new KernelSet(gd!);
      const got = await ks.checked('get_rows', async () => {
        const gw = uploadWeight(ks, w, () => {}, limit);
        if (limit) assert.ok(gw.parts.length > 1);
        const idb = ks.upload(ids, 'ids');
        const out = ks.storage(ids.length * cols * 4, 'out');
        const rec = new Recorder(ks);
        rec.getRows(gw, idb, ids.length, out, 0);
        rec.submit();
        return ks.readF32(out, 0, ids.length * cols);
      });
      const want = new Float32Array(ids.length * cols);
      ids.forEach((id, t) => refGetRow(w, id, want.subarray(t * cols, (t + 1) * cols)));
      assert.deepEqual(got, want, `${typeName(type)} limit ${limit}`);
    }
  }
});
