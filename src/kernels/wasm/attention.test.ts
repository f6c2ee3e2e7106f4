// The cpu backend's attention kernel with options (non-causal, sliding window, soft-cap, ring caches) on 1, 3 and 4
// threads (every op split) against the reference, over f32 and f16 caches, with enough tokens that every thread
// takes work items; a ring that no longer holds a needed key is refused; and the kernel's f32 tanh (the soft-cap
// and scale kernels) against Math.tanh over a dense sweep. Measured alone: ~2 s.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { roundF16 } from '../../util/f16.ts';
import { view } from '../backend.ts';
import { attention as refAttention, type AttentionShape } from '../ref/attention.ts';
import type { AttentionOptions } from '../ref/attention-options.ts';
import { softcap as refSoftcap } from '../ref/scale.ts';
import { createCpuBackend } from './backend.ts';
import { nmse, randomFloats } from './test-util.ts';

/** As src/kernels/conformance.test.ts: the plain kernel's bounds plus the soft-cap's tanh error. */
const BOUND_F32 = 1e-10;
const BOUND_F16 = 1e-8;
/** The vectorised tanh (assembly/ops.ts tanhAccV) is within this many ulp of f32(Math.tanh(x)); measured: 2. */
const TANH_ULP = 4;

const ulp = (v: number): number => {
  const a = Math.abs(v);
  return a < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23);
};

for (const threads of [1, 3, 4]) {
  describe(`cpu attention with options, ${threads} thread(s)`, () => {
    const be = createCpuBackend({ threads, minParallelWork: 0 });
    after(() => be.dispose());

    test('every combination of causal, window, soft-cap, ring, over f32 and f16 caches, matches ref', () => {
      const nHead = 8;
      const nHeadKv = 2;
      const headDim = 32;
      const kvDim = nHeadKv * headDim;
      const s0 = { nHead, nHeadKv, headDim, scale: 1 / Math.sqrt(headDim) };
      for (const [pos0, nTok] of [[0, 40], [37, 9], [100, 1]]) {
        const nAll = pos0 + nTok;
        const k = randomFloats(nAll * kvDim, 5 + pos0).map((v) => 3 * v);
        const vals = randomFloats(nAll * kvDim, 6 + pos0);
        const q = randomFloats(nTok * nHead * headDim, 7 + pos0);
        for (const f16 of [false, true]) {
          const s: AttentionShape = { ...s0, f16 };
          const held = (x: Float32Array) => (f16 ? x.map(roundF16) : x);
          const dtype = f16 ? 'f16' : 'f32';
          const qt = be.alloc(q.length, 'f32', 'scratch');
          be.upload(qt, q);
          const kt = be.alloc(k.length, 'f32', 'scratch');
          const vt = be.alloc(k.length, 'f32', 'scratch');
          be.upload(kt, k);
          be.upload(vt, vals);
          const kc = be.alloc(k.length, dtype, 'kv');
          const vc = be.alloc(k.length, dtype, 'kv');
          be.kvStore(kt, vt, kc, vc);
          const out = be.alloc(q.length, 'f32', 'scratch');
          for (const causal of [true, false]) {
            for (const window of [undefined, 1, 5, 16]) {
              for (const softcap of [undefined, 2, 50]) {
                const o: AttentionOptions = { causal, window, softcap };
                const want = new Float32Array(q.length);
                refAttention(q, held(k), held(vals), nTok, pos0, s, want, o);
                be.attention(qt, kc, vc, nTok, pos0, s, out, o);
                const e = nmse(be.read(out) as Float32Array, want);
                assert.ok(e <= (f16 ? BOUND_F16 : BOUND_F32), `${JSON.stringify(o)} ${dtype} pos0 ${pos0} n ${nTok}: NMSE ${e}`);
                if (!causal || window === undefined) continue;
                // the same keys in a ring of window + nTok - 1 rows, written in position order
                const size = window + nTok - 1;
                const rk = be.alloc(size * kvDim, dtype, 'kv');
                const rv = be.alloc(size * kvDim, dtype, 'kv');
                for (let p = 0; p < nAll; p++) {
                  const r = (p % size) * kvDim;
                  be.kvStore(view(kt, p * kvDim, kvDim), view(vt, p * kvDim, kvDim), view(rk, r, kvDim), view(rv, r, kvDim));
                }
                const full = be.read(out) as Float32Array;
                be.attention(qt, rk, rv, nTok, pos0, s, out, { ...o, ring: { size } });
                // the same keys visited in the same order: the ring's result is the full cache's, bit for bit
                assert.deepEqual(be.read(out), full, `${JSON.stringify(o)} ring ${size} ${dtype}`);
                if (nAll > size && size > 1) {
                  // one row short: the first query's oldest key is gone
                  assert.throws(() => be.attention(qt, rk, rv, nTok, pos0, s, out, { ...o, ring: { size: size - 1 } }),
                    /no longer holds/);
                }
                be.free(rk);
                be.free(rv);
              }
            }
          }
          for (const t of [qt, kt, vt, kc, vc, out]) be.free(t);
        }
      }
    });
  });
}

describe('cpu scale and softcap kernels', () => {
  const be = createCpuBackend({ threads: 1 });
  after(() => be.dispose());

  test(`tanh (softcap with cap 1) is within ${TANH_ULP} ulp of f32(Math.tanh) over [-20, 20]`, () => {
    const n = 1 << 18;
    const xs = new Float32Array(n);
    // dense near 0 (cubic spacing), every sign, the 0.4 seam of the two branches, the clamped tails
    for (let i = 0; i < n; i++) xs[i] = 160 * (i / n - 0.5) ** 3;
    xs.set([0, -0, 0.4, -0.4, Math.fround(0.4) - 2 ** -25, 1e-30, -1e-30, 44, -44, 100, -100]);
    const t = be.alloc(n, 'f32', 'scratch');
    be.upload(t, xs);
    be.softcap(t, 1, n);
    const got = be.read(t) as Float32Array;
    let worst = 0;
    let at = 0;
    for (let i = 0; i < n; i++) {
      const want = Math.fround(Math.tanh(xs[i]));
      const u = Math.abs(got[i] - want) / ulp(want);
      if (u > worst) [worst, at] = [u, xs[i]];
    }
    console.log(`# tanh: worst ${worst} ulp at x = ${at}`);
    assert.ok(worst <= TANH_ULP, `tanh: ${worst} ulp at x = ${at}`);
    be.free(t);
  });

  test('softcap with gemma2\'s caps (30, 50) is within the tanh bound of the reference', () => {
    const n = 4099;
    const x = randomFloats(n, 3).map((v) => 80 * v);
    for (const cap of [30, 50]) {
      const want = x.slice();
      refSoftcap(want, cap, n);
      const t = be.alloc(n, 'f32', 'scratch');
      be.upload(t, x);
      be.softcap(t, cap, n);
      const got = be.read(t) as Float32Array;
      // 4 ulp of tanh, times the cap, plus the final multiply's rounding
      for (let i = 0; i < n; i++) assert.ok(Math.abs(got[i] - want[i]) <= (TANH_ULP + 1) * ulp(want[i]) + cap * 2 ** -149, `cap ${cap} x ${x[i]}`);
      be.free(t);
    }
  });
});
