// Conformance of the extra wasm kernels (extra-ops.ts) against the reference ops, SIMD128 and relaxed builds,
// on random rows of odd lengths (the 4-lane tails) plus the edge values of each op.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { roundF16 } from '../../util/f16.ts';
import { layerNorm as refLayerNorm } from '../ref/layer-norm.ts';
import { geglu as refGeglu, gelu as refGelu, geluErf as refGeluErf } from '../ref/gelu.ts';
import { createExtraOps } from './extra-ops.ts';
import { WasmHeap } from './heap.ts';
import { relaxedSimdSupported } from './module.ts';
import { nmse, randomFloats } from './test-util.ts';

/**
 * Bounds. layerNorm: identical (same f64 sums in the same order, the same f32 steps). gelu / geglu: the kernel's
 * tanh (from the Cephes exp, ~2 ulp) can put ggml_gelu_f32 on the other side of an f16 rounding boundary, so a
 * value may differ by one f16 ulp (2^-11 relative); measured on these inputs: a handful of values, NMSE < 1e-9.
 * geluErf: Abramowitz-Stegun erfc (|error| 1.5e-7) against the f64 erf, NMSE measured ~1e-14.
 */
const GELU_NMSE = 1e-8;
const ERF_NMSE = 1e-12;

/** Inputs spanning gelu's regions: random in [-12, 12], exact ±10, tiny and large values, zeros. */
function probe(n: number, seed: number): Float32Array {
  const x = randomFloats(n, seed).map((v) => 12 * v);
  const edges = [-10, 10, -9.999, 9.999, -10.001, 10.001, 0, -0, 1e-8, -1e-8, 3, -3, 5.5, -5.5, 65504, -65504];
  x.set(edges.slice(0, Math.min(edges.length, n)));
  return x;
}

/**
 * Worst |a - b| over the allowed error: one f16 ulp of the value, plus, in the negative tail, what a 2-ulp
 * difference of tanh near -1 does to 0.5 x (1 + tanh) (0.5 |x| 2^-22: there ggml's own result depends on how
 * tanhf rounds).
 */
function worstGeluError(a: Float32Array, b: Float32Array, x: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    const f16ulp = Math.max(Math.abs(b[i]), 2 ** -14) * 2 ** -10;
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / (f16ulp + 0.5 * Math.abs(x[i]) * 2 ** -22));
  }
  return worst;
}

for (const relaxed of relaxedSimdSupported() ? [false, true] : [false]) {
  describe(`extra wasm ops, ${relaxed ? 'relaxed SIMD' : 'SIMD128'}`, () => {
    const heap = new WasmHeap();
    const ops = createExtraOps(heap, relaxed);
    const f32 = (src: Float32Array): Float32Array => {
      const v = heap.f32(heap.alloc(src.length * 4, 'test'), src.length);
      v.set(src);
      return v;
    };

    test('layerNorm equals the reference exactly, with and without weight and bias', () => {
      for (const [n, nTok] of [[1, 1], [7, 3], [64, 2], [333, 5]]) {
        const x = f32(randomFloats(n * nTok, n).map((v, i) => 3 * v + (i % 5)));
        const w = f32(randomFloats(n, n + 1));
        const b = f32(randomFloats(n, n + 2));
        for (const [wt, bs] of [[undefined, undefined], [w, undefined], [w, b], [undefined, b]] as const) {
          const out = f32(new Float32Array(n * nTok));
          const ref = new Float32Array(n * nTok);
          ops.layerNorm(x, wt, bs, 1e-5, n, nTok, out);
          refLayerNorm(x, wt, bs, 1e-5, n, nTok, ref);
          assert.deepEqual(out, ref, `n ${n}, ${nTok} tokens, weight ${!!wt}, bias ${!!bs}`);
        }
      }
    });

    test('gelu (tanh) matches the reference within one f16 ulp (plus tanh rounding in the negative tail)', () => {
      for (const n of [1, 5, 4096 + 3]) {
        const src = probe(n, n);
        const x = f32(src);
        const ref = src.slice();
        ops.gelu(x);
        refGelu(ref);
        const worst = worstGeluError(x, ref, src);
        assert.ok(worst <= 1, `n ${n}: error ${worst} of the allowed`);
        assert.ok(nmse(x, ref) <= GELU_NMSE, `n ${n}: NMSE ${nmse(x, ref)}`);
        // every output is an f16 value (or x itself past ±10), as ggml's table gives
        for (let i = 0; i < n; i++) if (Math.abs(src[i]) < 10) assert.equal(x[i], roundF16(x[i]));
      }
    });

    test('geglu matches the reference within one f16 ulp of gelu, times up', () => {
      for (const n of [3, 4099]) {
        const g = probe(n, 2 * n);
        const u = randomFloats(n, 3 * n).map((v) => 2 * v);
        const gate = f32(g);
        const up = f32(u);
        const ref = g.slice();
        ops.geglu(gate, up);
        refGeglu(ref, u);
        assert.ok(nmse(gate, ref) <= GELU_NMSE, `n ${n}: NMSE ${nmse(gate, ref)}`);
        for (let i = 0; i < n; i++) if (g[i] <= -10) assert.ok(Object.is(gate[i], 0), `gate ${g[i]} gives +0`);
      }
    });

    test('geluErf matches the reference', () => {
      for (const n of [2, 4097]) {
        const src = probe(n, 5 * n);
        const x = f32(src);
        const ref = src.slice();
        ops.geluErf(x);
        refGeluErf(ref);
        assert.ok(nmse(x, ref) <= ERF_NMSE, `n ${n}: NMSE ${nmse(x, ref)}`);
        let worst = 0;
        for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(x[i] - ref[i]));
        assert.ok(worst <= 1e-5, `max abs error ${worst}`);
      }
    });

    test('arrays outside the heap are refused', () => {
      assert.throws(() => ops.gelu(new Float32Array(4)), /must live in this heap/);
    });
  });
}
