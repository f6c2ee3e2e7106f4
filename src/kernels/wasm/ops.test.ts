// Conformance of the cpu backend's non-matmul kernels against the reference: attention over the KV cache
// (grouped heads, f16 and f32 caches, 1 and 2 threads with every op split), rmsnorm, swiglu, add, addBias.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { roundF16 } from '../../util/f16.ts';
import { attention as refAttention } from '../ref/attention.ts';
import { addBias, addInPlace, rmsNorm, swiglu } from '../ref/ops.ts';
import { createCpuBackend } from './backend.ts';
import { nmse, randomFloats } from './test-util.ts';

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
            const k = be.allocF32(nKv * kvDim);
            const v = be.allocF32(nKv * kvDim);
            // keys scaled up so the softmax is far from uniform
            k.set(randomFloats(nKv * kvDim, nTokens * 7 + pos0).map((e) => (f16 ? roundF16(3 * e) : 3 * e)));
            v.set(randomFloats(nKv * kvDim, nTokens * 11 + pos0).map((e) => (f16 ? roundF16(e) : e)));
            const q = be.allocF32(nTokens * sh.nHead * sh.headDim);
            q.set(randomFloats(q.length, nTokens + pos0));
            const s = { ...sh, scale: 1 / Math.sqrt(sh.headDim), f16 };
            const out = be.allocF32(q.length);
            const ref = new Float32Array(q.length);
            be.attention(q, k, v, nTokens, pos0, s, out);
            refAttention(q, k, v, nTokens, pos0, s, ref);
            const e = nmse(out, ref);
            assert.ok(e <= ATTN_BOUND[f16 ? 'f16' : 'f32'], `${nTokens} tokens at ${pos0}: NMSE ${e}`);
          }
        });
      }
    }

    test('attention from arrays outside the wasm memory falls back to the reference', () => {
      const s = { nHead: 2, nHeadKv: 1, headDim: 4, scale: 0.5, f16: false };
      const k = randomFloats(12, 1);
      const v = randomFloats(12, 2);
      const q = randomFloats(8, 3);
      const out = new Float32Array(8);
      const ref = new Float32Array(8);
      be.attention(q, k, v, 1, 2, s, out);
      refAttention(q, k, v, 1, 2, s, ref);
      assert.deepEqual(out, ref);
    });

    test('rmsNorm is bit-exact with the reference (f64 sum of squares in both)', () => {
      const n = 200;
      const x = be.allocF32(n * 3);
      x.set(randomFloats(n * 3, 5).map((e) => e * 40));
      const w = randomFloats(n, 6);
      const out = be.allocF32(n * 3);
      const ref = new Float32Array(n * 3);
      be.rmsNorm(x, w, 1e-5, n, 3, out);
      rmsNorm(x, w, 1e-5, n, 3, ref);
      assert.deepEqual(out, ref);
    });

    test('swiglu matches silu(gate) * up, tails included', () => {
      for (const n of [1, 7, 1000]) {
        const g = be.allocF32(n);
        g.set(randomFloats(n, n).map((e) => e * 20));
        const u = be.allocF32(n);
        u.set(randomFloats(n, n + 1));
        const ref = g.slice();
        swiglu(ref, u, n);
        be.swiglu(g, u, n);
        assert.ok(nmse(g, ref) <= 1e-13, `n ${n}: NMSE ${nmse(g, ref)}`);
      }
    });

    test('add and addBias are exact', () => {
      const n = 37;
      const a = be.allocF32(n * 2);
      a.set(randomFloats(n * 2, 8));
      const b = be.allocF32(n * 2);
      b.set(randomFloats(n * 2, 9));
      const ra = a.slice();
      addInPlace(ra, b, n * 2);
      be.add(a, b, n * 2);
      assert.deepEqual(a, ra);
      const bias = randomFloats(n, 10);
      addBias(ra, bias, n, 2);
      be.addBias(a, bias, n, 2);
      assert.deepEqual(a, ra);
    });
  });
}
