// The wasm weight encoder against its TypeScript twin (src/quant/ref, itself checked against ggml by the
// golden tests in src/quant): byte for byte, every type, over data that reaches each branch of the scale
// searches (gaussian, uniform, outliers, zeros, tiny magnitudes and subnormals, constant groups, huge and
// mixed-scale values) and several row lengths; then chunking through the wasm memory, quantizeTensor
// routed through it once installed, and an encoder on a worker thread (the threads build's shared memory).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { GGMLType, rowBytes, typeName } from '../../gguf/ggml-types.ts';
import { quantizeTensor, setTensorEncoder, tensorEncoderFor } from '../../quant/index.ts';
import { gaussianData, uniformSource } from '../../quant/block-test-data.ts';
import { WASM_WEIGHT_TYPES, createWasmWeightEncoder, useWasmWeightEncoder } from './weight-encoder.ts';

const TYPES = [...WASM_WEIGHT_TYPES];
const ROW_LENGTHS = [256, 512, 2048, 5632];


/** Rows of each kind of data, n values (a multiple of 256). */
const KINDS: Record<string, (n: number, seed: number) => Float32Array> = {
  gaussian: (n, seed) => gaussianData(n, seed),
  'gaussian, small sigma': (n, seed) => gaussianData(n, seed, 0.02),
  uniform: (n, seed) => {
    const u = uniformSource(seed);
    return Float32Array.from({ length: n }, () => 2 * u() - 1);
  },
  'one-signed': (n, seed) => {
    const u = uniformSource(seed);
    return Float32Array.from({ length: n }, () => 0.5 + u());
  },
  outliers: (n, seed) => {
    const x = gaussianData(n, seed, 0.05);
    const u = uniformSource(seed ^ 0x55);
    for (let i = 0; i < n; i += 37 + Math.floor(u() * 50)) x[i] = (u() < 0.5 ? -1 : 1) * (5 + 20 * u());
    return x;
  },
  'all zero (and -0)': (n) => {
    const x = new Float32Array(n);
    x.fill(-0, n / 2);
    return x;
  },
  'tiny magnitudes': (n, seed) => {
    // 1e-20 .. subnormals: scales that underflow f16, inverse scales that overflow to infinity
    const x = gaussianData(n, seed);
    const scales = [1e-20, 1e-30, 1e-38, 1e-40, 1e-44];
    for (let i = 0; i < n; i++) x[i] *= scales[Math.floor(i / 32) % scales.length];
    return x;
  },
  'constant groups': (n, seed) => {
    const x = gaussianData(n, seed);
    const u = uniformSource(seed);
    for (let g = 0; g < n; g += 16) {
      const pick = u();
      if (pick < 0.5) x.fill(pick < 0.25 ? 0.7 : -3 * pick, g, g + 16); // a constant group of 16 (half a 32)
      else if (pick < 0.6) x.fill(0, g, g + 16);
    }
    return x;
  },
  'edge values': (n, seed) => {
    // huge magnitudes (f16 overflow of the block scale), exact halves of the rounding, mixed scales per group
    const u = uniformSource(seed);
    const pool = [65504, -65504, 1e6, -3e8, 1e30, 2.5, -2.5, 0.5, 1.5, 127, -128, 1e-7, 3.4e38, -3.4e38];
    return Float32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? pool[Math.floor(u() * pool.length)] : (u() - 0.5) * 10 ** ((i >> 5) % 9 - 4)));
  },
};

function firstDifference(a: Uint8Array, b: Uint8Array): string {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  const i = a.findIndex((v, k) => v !== b[k]);
  return `byte ${i}: wasm ${a[i]}, ts ${b[i]}`;
}

test('the wasm encoder writes the bytes of the TypeScript encoder, every type, kind of data and row length', () => {
  const enc = createWasmWeightEncoder();
  let seed = 1;
  for (const type of TYPES) {
    for (const [kind, make] of Object.entries(KINDS)) {
      // every row length once with gaussian data; the other kinds cycle through them (two rows each)
      const lengths = kind === 'gaussian' ? ROW_LENGTHS : [ROW_LENGTHS[seed % 2]];
      for (const rowLen of lengths) {
        const nRows = kind === 'gaussian' ? 1 : 2;
        const x = make(rowLen * nRows, seed++);
        const want = quantizeTensor(type, x, rowLen, { reference: true });
        const got = new Uint8Array(want.length);
        enc.encode(type, x, rowLen, got);
        assert.ok(Buffer.from(got).equals(want), `${typeName(type)}, ${kind}, rows of ${rowLen}: ${firstDifference(got, want)}`);
      }
    }
  }
});

test('tensors pass through the wasm memory in chunks of whole rows, at least one row per chunk', () => {
  for (const [chunkValues, rowLen, nRows] of [[600, 256, 5], [100, 512, 3], [1 << 18, 256, 1]]) {
    const enc = createWasmWeightEncoder({ chunkValues });
    for (const type of [GGMLType.Q4_K, GGMLType.Q6_K, GGMLType.Q8_0]) {
      const x = gaussianData(rowLen * nRows, rowLen + nRows);
      const want = quantizeTensor(type, x, rowLen, { reference: true });
      const got = new Uint8Array(rowBytes(type, rowLen) * nRows);
      enc.encode(type, x, rowLen, got);
      assert.ok(Buffer.from(got).equals(want), `${typeName(type)}, ${nRows} rows of ${rowLen} in chunks of ${chunkValues}: ${firstDifference(got, want)}`);
      // a second, larger tensor on the same encoder grows its regions
      const y = gaussianData(rowLen * nRows * 3, 7);
      const again = new Uint8Array(rowBytes(type, rowLen) * nRows * 3);
      enc.encode(type, y, rowLen, again);
      assert.ok(Buffer.from(again).equals(quantizeTensor(type, y, rowLen, { reference: true })), `${typeName(type)}: the larger tensor`);
    }
  }
  assert.throws(() => createWasmWeightEncoder({ chunkValues: 0 }), { code: 'invalid_argument' });
});

test('installed, it encodes quantizeTensor for its types and leaves the others to the reference', () => {
  assert.equal(useWasmWeightEncoder(), true);
  try {
    assert.equal(tensorEncoderFor(GGMLType.Q4_K)?.name, 'wasm');
    assert.equal(tensorEncoderFor(GGMLType.F16), undefined);
    assert.equal(tensorEncoderFor(GGMLType.Q8_K), undefined);
    const x = gaussianData(2048 * 3, 99);
    for (const type of [GGMLType.Q5_K, GGMLType.Q4_0, GGMLType.F16]) {
      assert.ok(Buffer.from(quantizeTensor(type, x, 2048)).equals(quantizeTensor(type, x, 2048, { reference: true })), typeName(type));
    }
    // argument checks stay in quantizeTensor
    assert.throws(() => quantizeTensor(GGMLType.Q4_K, new Float32Array(300), 300), { code: 'invalid_argument' });
  } finally {
    setTensorEncoder(undefined);
  }
  assert.equal(tensorEncoderFor(GGMLType.Q4_K), undefined);
});

test('a worker thread gets its own instance, with the same bytes', async () => {
  const x = gaussianData(2048 * 4, 5);
  const want = quantizeTensor(GGMLType.Q4_K, x, 2048, { reference: true });
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.url).then(({ createWasmWeightEncoder }) => {
      const out = new Uint8Array(workerData.bytes);
      createWasmWeightEncoder().encode(workerData.type, workerData.x, 2048, out);
      parentPort.postMessage(out);
    });`;
  const worker = new Worker(code, {
    eval: true,
    workerData: { url: new URL('./weight-encoder.ts', import.meta.url).href, type: GGMLType.Q4_K, x, bytes: want.length },
  });
  const got = await new Promise<Uint8Array>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  assert.ok(Buffer.from(got).equals(want), firstDifference(got, want));
});
