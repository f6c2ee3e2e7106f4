// The vision encoder on every synchronous backend against the ref backend (plain TypeScript kernels, the oracle of
// the fast ones): the same image rows within a stated NMSE, for both mmproj layouts of the mtmd parity test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRefBackend } from '../../src/kernels/ref/backend.ts';
import { createCpuBackend } from '../../src/kernels/wasm/backend.ts';
import { VisionModel } from '../../src/engine/vision/mmproj.ts';
import { nmse } from '../../src/kernels/webgpu/test-util.ts';
import { syntheticMmprojPath, type SyntheticMmprojOptions } from '../fixtures/synthetic-mmproj.ts';

const NMSE_BOUND = 1e-5;

for (const [name, o] of [
  ['gelu, class row, pre-LN, f32', {}],
  ['quick gelu, no class row, post-LN, f16', { useGelu: false, classToken: false, postLn: true, weightType: 'F16' }],
] as [string, SyntheticMmprojOptions][]) {
  test(`clip encoder (${name}): cpu rows match the ref backend within NMSE ${NMSE_BOUND}`, async (t) => {
    const file = syntheticMmprojPath({ nEmbdOut: 128, ...o });
    const ref = createRefBackend();
    const cpu = createCpuBackend({ threads: 2 });
    try {
      const a = VisionModel.load(file, 128, ref);
      const b = VisionModel.load(file, 128, cpu);
      const data = new Uint8Array(70 * 45 * 3).map((_, i) => (i * 37 + (i >> 7) * 11) & 255);
      const img = { width: 70, height: 45, data };
      const want = await a.encodeRgb(img);
      const got = await b.encodeRgb(img);
      assert.equal(got.length, 16 * 128);
      const e = nmse(got, want);
      t.diagnostic(`NMSE cpu vs ref: ${e.toExponential(2)}`);
      assert.ok(e < NMSE_BOUND, `NMSE ${e}`);
      assert.ok(got.every(Number.isFinite));
    } finally {
      ref.dispose();
      cpu.dispose();
    }
  });
}
