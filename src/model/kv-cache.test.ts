// The KV cache's layout: sliding-window layers as rings sized by llama.cpp's SWA formula (llama-kv-cache-iswa.cpp:
// GGML_PAD(min(n_ctx, n_swa + n_ubatch), 256)), the bytes they cost, rows written around the ring, and the rule for
// resuming a pass after a truncation (canResume). Ref backend; measured alone: ~0.3 s.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { view } from '../kernels/backend.ts';
import { createRefBackend } from '../kernels/ref/backend.ts';
import { KVCache, SWA_PAD, kvCacheBytes, ringRows } from './kv-cache.ts';

/** llama.cpp's size_swa for one sequence, written out from its source (the formula, not this module's code). */
function llamaSwaCells(nCtx: number, nSwa: number, nUbatch: number): number {
  const padded = Math.ceil(nCtx / 256) * 256; // cparams.n_ctx = GGML_PAD(n_ctx, 256)
  const m = Math.min(padded, nSwa + nUbatch);
  return Math.ceil(m / 256) * 256;
}

describe('ring sizes', () => {
  test('match llama.cpp\'s SWA cache: gemma2 (4096), gemma3 (512, 1024) windows, several contexts and batches', () => {
    assert.equal(SWA_PAD, 256);
    for (const nCtx of [2048, 4096, 8192, 32768, 131072]) {
      for (const w of [512, 1024, 4096]) {
        for (const ub of [512, 256, 100]) {
          const cells = llamaSwaCells(nCtx, w, ub);
          // a ring where it is smaller than the context, else a full layer of nCtx rows, as many cells as llama.cpp
          assert.equal(ringRows(nCtx, w, ub) ?? nCtx, cells, `nCtx ${nCtx} window ${w} ubatch ${ub}`);
        }
      }
    }
    // gemma-3 4B at 32k: 1024 + 512 padded = 1536 rows instead of 32768
    assert.equal(ringRows(32768, 1024), 1536);
    assert.equal(ringRows(1000, 1024), undefined);
  });

  test('bytes: full layers nCtx rows, window layers their ring, as allocated and as the backend counts them', () => {
    const b = createRefBackend();
    const window = (il: number) => (il % 6 === 5 ? undefined : 1024); // gemma3: every sixth layer global
    const nLayer = 12;
    const kvDim = 2 * 16;
    for (const f16 of [true, false]) {
      const before = b.memory().kv;
      const c = new KVCache(b, nLayer, 8192, kvDim, f16, { window });
      const rows = 2 * 8192 + 10 * 1536;
      assert.equal(c.bytes, rows * 2 * kvDim * (f16 ? 2 : 4));
      assert.equal(kvCacheBytes(nLayer, 8192, kvDim, f16, { window }), c.bytes);
      assert.equal(b.memory().kv - before, c.bytes);
      assert.equal(c.ring(0), 1536);
      assert.equal(c.ring(5), undefined);
      assert.equal(c.rows(5), 8192);
      c.dispose();
    }
    // no layout: every layer full, the count before rings
    assert.equal(kvCacheBytes(4, 100, 8), 4 * 100 * 2 * 8 * 2);
  });
});

describe('ring rows', () => {
  test('store writes position p at row p % rows, wrapping within one call', () => {
    const b = createRefBackend();
    const kvDim = 3;
    const c = new KVCache(b, 2, 64, kvDim, false, { window: (il) => (il === 0 ? 4 : undefined), nUbatch: 3, pad: 1 });
    assert.equal(c.ring(0), 7);
    const row = (p: number) => Float32Array.from({ length: kvDim }, (_, d) => p * 10 + d);
    const rows = (p0: number, n: number) => {
      const t = b.alloc(n * kvDim, 'f32', 'scratch');
      const data = new Float32Array(n * kvDim);
      for (let i = 0; i < n; i++) data.set(row(p0 + i), i * kvDim);
      b.upload(t, data);
      return t;
    };
    let pos = 0;
    for (const n of [5, 4, 7, 1, 6]) {
      const k = rows(pos, n);
      const v = rows(pos + 1000, n);
      c.store(0, k, v, pos, n);
      c.store(1, k, v, pos, n);
      pos += n;
    }
    const kRing = b.read(c.k(0)) as Float32Array;
    const vRing = b.read(c.v(0)) as Float32Array;
    for (let p = pos - 7; p < pos; p++) {
      assert.deepEqual(kRing.subarray((p % 7) * kvDim, (p % 7 + 1) * kvDim), row(p), `K of position ${p}`);
      assert.deepEqual(vRing.subarray((p % 7) * kvDim, (p % 7 + 1) * kvDim), row(p + 1000), `V of position ${p}`);
    }
    const full = b.read(view(c.k(1), 0, pos * kvDim)) as Float32Array;
    for (let p = 0; p < pos; p++) assert.deepEqual(full.subarray(p * kvDim, (p + 1) * kvDim), row(p));
    assert.throws(() => c.store(0, rows(0, 8), rows(0, 8), 0, 8), /into a ring of 7/);
  });

  test('canResume: a truncated pass may start at n only while every ring still holds n - W + 1 .. n - 1', () => {
    const b = createRefBackend();
    // layer 0: window 4 in 7 rows; layer 1: window 2 in 5 rows; layer 2 full
    const windows = [4, 2, undefined];
    const c = new KVCache(b, 3, 64, 2, true, { window: (il) => windows[il], nUbatch: 3, pad: 1 });
    assert.deepEqual([c.ring(0), c.ring(1), c.ring(2)], [7, 5, undefined]);
    assert.ok(!c.canResume(1), 'nothing written yet');
    c.noteWrite(0, 20);
    assert.equal(c.written, 20);
    for (let n = 0; n <= 25; n++) {
      // written 0..19: ring 0 holds 13..19, ring 1 holds 15..19
      const want = n === 0 || (n <= 20 && Math.max(0, n - 3) >= 13 && Math.max(0, n - 1) >= 15);
      assert.equal(c.canResume(n), want, `n = ${n}`);
    }
    assert.throws(() => c.checkResume(15), /no longer holds/);
    assert.throws(() => c.noteWrite(21, 1), /no longer holds/);
    // truncated to 17 and 16 in turn, one position written each time: the keys before stay where they were
    c.noteWrite(17, 1);
    assert.equal(c.written, 18);
    assert.ok(c.canResume(18));
    c.noteWrite(16, 1);
    assert.ok(c.canResume(17));
    // back to the start: position 0 goes to the row that held 14 (ring 0) and 15 (ring 1); position 1's rows still
    // hold 15 and 16 from before, so a pass cannot start at 2
    c.noteWrite(0, 1);
    assert.ok(c.canResume(1) && !c.canResume(2));
    // a cache of full layers only resumes anywhere (what it holds below n is what was written there)
    const f = new KVCache(b, 2, 16, 2);
    assert.ok(f.canResume(0) && f.canResume(9));
  });
});
