// Conformance of the cpu backend's non-matmul kernels against the reference: attention over the KV cache
// (grouped heads, f16 caches stored as halves and f32 caches, 1 and 2 threads with every op split), the KV store
// (f16 rounding in the kernel), rmsnorm, swiglu, add, addBias.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { roundF16 } from '../../util/f16.ts';
import { attention as refAttention } from '../ref/attention.ts';
import { addBias, addInPlace, rmsNorm, swiglu } from '../ref/ops.ts';
import { createCpuBackend } from './backend.ts';
import { nmse, randomFloats } from './test-util.ts';
import { view } from '../backend.ts';
import { readNow, tensorFrom } from '../test-tensors.ts';
import { createRefBackend } from '../ref/backend.ts';

/**
 * Attention bounds. f32 cache: the kernel's exp (Cephes, ~2 ulp) and f32 sums against the reference's f64,
 * measured below 1e-13. f16 cache: a softmax weight within an ulp of an f16 rounding boundary can round the
 * other way (a 2^-11 relative change of one weight), so the bound is looser.
 */
const ATTN_BOUND = { f32: 1e-11, f16: 1e-8 };

for (const threads of [1, 2]) {
  describe(`cpu ops, ${threads} thread(s)`, () => {
    const be = createCpuBackend({ threads, minParallelWork: 0 });
    after(() => be.dispose());

    const shapes = [
      { nHead: 8, nHeadKv: 4, headDim: 8 },
      { nHead: 4, nHeadKv: 4, headDim: 64 },
      { nHead: 6, nHeadKv: 2, headDim: 128 },
    ];
    for (const sh of shapes) {
      for (const f16 of [false, true]) {
        test(`attention ${sh.nHead}/${sh.nHeadKv} heads of ${sh.headDim}, ${f16 ? 'f16' : 'f32'} cache`, () => {
          for (const [nTokens, pos0] of [[1, 0], [1, 300], [3, 5], [17, 40]]) {
            const kvDim = sh.nHeadKv * sh.headDim;
            const nKv = pos0 + nTokens;
            // keys scaled up so the softmax is far from uniform; an f16 cache holds the values rounded to half
            const kHost = randomFloats(nKv * kvDim, nTokens * 7 + pos0).map((e) => (f16 ? roundF16(3 * e) : 3 * e));
            const vHost = randomFloats(nKv * kvDim, nTokens * 11 + pos0).map((e) => (f16 ? roundF16(e) : e));
            const k = tensorFrom(be, kHost, f16 ? 'f16' : 'f32');
            const v = tensorFrom(be, vHost, f16 ? 'f16' : 'f32');
            const qHost = randomFloats(nTokens * sh.nHead * sh.headDim, nTokens + pos0);
            const s = { ...sh, scale: 1 / Math.sqrt(sh.headDim), f16 };
            const out = be.alloc(qHost.length, 'f32', 'scratch');
            const ref = new Float32Array(qHost.length);
            be.attention(tensorFrom(be, qHost), k, v, nTokens, pos0, s, out);
            refAttention(qHost, kHost, vHost, nTokens, pos0, s, ref);
            const e = nmse(readNow(be, out), ref);
            assert.ok(e <= ATTN_BOUND[f16 ? 'f16' : 'f32'], `${nTokens} tokens at ${pos0}: NMSE ${e}`);
          }
        });
      }
    }

    test('attention with a head size the kernel does not take falls back to the reference exactly', () => {
      const s = { nHead: 2, nHeadKv: 1, headDim: 6, scale: 0.5, f16: false };
      const k = randomFloats(18, 1);
      const v = randomFloats(18, 2);
      const q = randomFloats(12, 3);
      const out = be.alloc(12, 'f32', 'scratch');
      const ref = new Float32Array(12);
      be.attention(tensorFrom(be, q), tensorFrom(be, k), tensorFrom(be, v), 1, 2, s, out);
      refAttention(q, k, v, 1, 2, s, ref);
      assert.deepEqual(readNow(be, out), ref);
    });

    test('kvStore writes the halves the reference writes (the kernel rounds), at an offset, and f32 as is', () => {
      const rb = createRefBackend();
      const kvDim = 24;
      const n = 5;
      const k = randomFloats(n * kvDim, 21).map((e) => e * 50);
      const v = randomFloats(n * kvDim, 22).map((e) => e * 1e-3);
      for (const dtype of ['f16', 'f32'] as const) {
        const before = be.memory().kv;
        const got = [be.alloc((n + 2) * kvDim, dtype, 'kv'), be.alloc((n + 2) * kvDim, dtype, 'kv')];
        const want = [rb.alloc((n + 2) * kvDim, dtype, 'kv'), rb.alloc((n + 2) * kvDim, dtype, 'kv')];
        be.kvStore(tensorFrom(be, k), tensorFrom(be, v), view(got[0], 2 * kvDim, n * kvDim), view(got[1], 2 * kvDim, n * kvDim));
        // two bytes a value in an f16 cache (allocations are 64-byte aligned: 7 * 24 * 2 = 336 -> 384)
        assert.equal(be.memory().kv - before, 2 * Math.ceil((n + 2) * kvDim * (dtype === 'f16' ? 2 : 4) / 64) * 64);
        rb.kvStore(tensorFrom(rb, k), tensorFrom(rb, v), view(want[0], 2 * kvDim, n * kvDim), view(want[1], 2 * kvDim, n * kvDim));
        assert.deepEqual(readNow(be, got[0]), readNow(rb, want[0]), `K ${dtype}`);
        assert.deepEqual(readNow(be, got[1]), readNow(rb, want[1]), `V ${dtype}`);
        be.free(got[0]);
        be.free(got[1]);
      }
    });

    test('rmsNorm is bit-exact with the reference (f64 sum of squares in both)', () => {
      const n = 200;
      const x = randomFloats(n * 3, 5).map((e) => e * 40);
      const w = randomFloats(n, 6);
      const out = be.alloc(n * 3, 'f32', 'scratch');
      const ref = new Float32Array(n * 3);
      be.rmsNorm(tensorFrom(be, x), tensorFrom(be, w), 1e-5, n, 3, out);
      rmsNorm(x, w, 1e-5, n, 3, ref);
      assert.deepEqual(readNow(be, out), ref);
    });

    test('swiglu matches silu(gate) * up, tails included', () => {
      for (const n of [1, 7, 1000]) {
        const gHost = randomFloats(n, n).map((e) => e * 20);
        const uHost = randomFloats(n, n + 1);
        const g = tensorFrom(be, gHost);
        const ref = gHost.slice();
        swiglu(ref, uHost, n);
        be.swiglu(g, tensorFrom(be, uHost), n);
        const got = readNow(be, g);
        assert.ok(nmse(got, ref) <= 1e-13, `n ${n}: NMSE ${nmse(got, ref)}`);
      }
    });

    test('add and addBias are exact', () => {
      const n = 37;
      const aHost = randomFloats(n * 2, 8);
      const bHost = randomFloats(n * 2, 9);
      const a = tensorFrom(be, aHost);
      const ra = aHost.slice();
      addInPlace(ra, bHost, n * 2);
      be.add(a, tensorFrom(be, bHost), n * 2);
      assert.deepEqual(readNow(be, a), ra);
      const bias = randomFloats(n, 10);
      addBias(ra, bias, n, 2);
      be.addBias(a, tensorFrom(be, bias), n, 2);
      assert.deepEqual(readNow(be, a), ra);
    });
  });
}
