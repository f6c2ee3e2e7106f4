// Hearth's reference ops for the newer architectures (src/kernels/ref/: layerNorm, gelu, geluErf, geglu, softcap,
// and the attention masks) against ggml's own ops, on every CPU library of the reference binary this CPU runs.
// Bounds: gelu and geglu are exact (both are ggml's f16 table; a value may differ where tanhf and Math.tanh round
// ggml_gelu_f32 across an f16 boundary, counted below); geluErf and softcap within 2 f32 ulps (erff / tanhf);
// layerNorm and the masked softmax to summation order (NMSE 1e-12). For negative x, 1 + erf cancels: there an
// ulp of erff near -1 (2^-24) times 0.5 |x| is allowed too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { geglu, gelu, geluErf } from '../../src/kernels/ref/gelu.ts';
import { layerNorm } from '../../src/kernels/ref/layer-norm.ts';
import { softcap } from '../../src/kernels/ref/scale.ts';
import { visible, type AttentionOptions } from '../../src/kernels/ref/attention-options.ts';
import { randomFloats, nmse } from '../../src/kernels/wasm/test-util.ts';
import { requireReference } from './client.ts';
import { shippedCpuVariants } from './cpu-variant.ts';
import { ggmlHarnessUnavailable } from './ggml-cpu.ts';
import { ggmlOp } from './ggml-ops.ts';

function ulps(a: number, b: number): number {
  if (a === b) return 0;
  const f = new Float32Array([a, b]);
  const i = new Int32Array(f.buffer);
  return Math.abs(i[0] - i[1]);
}

function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

const N = 96;
const ROWS = 7;
const X = concat(randomFloats(N * ROWS - 8, 1).map((v) => 12 * v), Float32Array.from([-10, 10, -9.99, 9.99, 0, -0, 1e-7, 65504]));

test('reference ops equal ggml\'s, per CPU library', (t) => {
  if (!requireReference(t)) return;
  const why = ggmlHarnessUnavailable();
  if (why) {
    t.skip(why);
    return;
  }
  let ran = 0;
  for (const variant of shippedCpuVariants()) {
    const g = ggmlOp(variant, 'gelu', X, N, ROWS);
    if (!g) continue;
    ran++;
    const ref = X.slice();
    gelu(ref);
    const off = [...g].filter((v, i) => v !== ref[i]).length;
    assert.ok(off <= 2, `${variant} gelu: ${off} of ${X.length} values differ`);
    if (off) t.diagnostic(`${variant} gelu: ${off} of ${X.length} values differ`);

    const up = randomFloats(X.length, 2);
    const gg = ggmlOp(variant, 'geglu', concat(X, up), N, ROWS)!;
    const refG = X.slice();
    geglu(refG, up);
    assert.ok([...gg].filter((v, i) => v !== refG[i]).length <= 2, `${variant} geglu`);

    const ge = ggmlOp(variant, 'gelu_erf', X, N, ROWS)!;
    const refE = X.slice();
    geluErf(refE);
    // 1 + erff(...) cancels for negative x: an ulp of erff near -1 is 2^-24, times 0.5 |x|
    for (let i = 0; i < X.length; i++) {
      assert.ok(ulps(ge[i], refE[i]) <= 2 || Math.abs(ge[i] - refE[i]) <= Math.abs(X[i]) * 2 ** -24,
        `${variant} gelu_erf(${X[i]}): ${ge[i]} vs ${refE[i]}`);
    }

    const sc = ggmlOp(variant, 'softcap', X, N, ROWS, 5)!;
    const refS = X.slice();
    softcap(refS, 5);
    for (let i = 0; i < X.length; i++) assert.ok(ulps(sc[i], refS[i]) <= 2, `${variant} softcap(${X[i]}): ${sc[i]} vs ${refS[i]}`);

    const w = randomFloats(N, 3);
    const b = randomFloats(N, 4);
    const xn = X.map((v, i) => v + (i % 3));
    const nm = ggmlOp(variant, 'norm', concat(xn, w, b), N, ROWS, 1e-5)!;
    const refN = new Float32Array(X.length);
    layerNorm(xn, w, b, 1e-5, N, ROWS, refN);
    assert.ok(nmse(nm, refN) <= 1e-12, `${variant} norm: NMSE ${nmse(nm, refN)}`);

    // the masks: ROWS query tokens at positions pos0 .. pos0 + ROWS - 1 over N key positions
    const pos0 = N - ROWS;
    for (const o of [{}, { causal: false }, { window: 5 }, { causal: false, window: 5 }] as AttentionOptions[]) {
      const mask = new Float32Array(X.length);
      for (let r = 0; r < ROWS; r++) for (let p = 0; p < N; p++) mask[r * N + p] = visible(pos0 + r, p, o) ? 0 : -Infinity;
      const scale = 0.7;
      const sm = ggmlOp(variant, 'soft_max', concat(X, mask), N, ROWS, scale)!;
      const want = new Float32Array(X.length);
      for (let r = 0; r < ROWS; r++) {
        // as ref/attention-options.ts: masked scores are -inf, exp(s - max) / sum over the visible ones
        let max = -Infinity;
        for (let p = 0; p < N; p++) if (visible(pos0 + r, p, o)) max = Math.max(max, Math.fround(X[r * N + p] * scale));
        let sum = 0;
        for (let p = 0; p < N; p++) if (visible(pos0 + r, p, o)) sum += Math.exp(Math.fround(X[r * N + p] * scale) - max);
        for (let p = 0; p < N; p++) want[r * N + p] = visible(pos0 + r, p, o) ? Math.exp(Math.fround(X[r * N + p] * scale) - max) / sum : 0;
      }
      assert.ok(nmse(sm, want) <= 1e-12, `${variant} soft_max ${JSON.stringify(o)}: NMSE ${nmse(sm, want)}`);
      for (let i = 0; i < X.length; i++) if (want[i] === 0) assert.equal(sm[i], 0, `${variant} masked weight ${i}`);
    }
  }
  assert.ok(ran > 0, 'no CPU library of the reference runs here');
  t.diagnostic(`checked on ${ran} CPU libraries`);
});
