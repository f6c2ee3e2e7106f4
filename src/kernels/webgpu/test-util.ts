// Shared by the webgpu tests: open a device or say why not, seeded random data, NMSE.
// No adapter at all: the tests skip with the reason, or fail when HEARTH_REQUIRE_WEBGPU=1 (CI on a machine that
// is meant to have one, e.g. after scripts/install-system-deps.sh).

import { openGpuDevice, type GpuDevice } from './gpu-device.ts';

export interface GpuProbe {
  gd?: GpuDevice;
  /** Why there is no device (a skip reason). */
  reason?: string;
}

export const REQUIRE_WEBGPU = process.env.HEARTH_REQUIRE_WEBGPU === '1';

export async function probeGpu(opts: { disableF16?: boolean; disableSubgroups?: boolean } = {}): Promise<GpuProbe> {
  try {
    const gd = await openGpuDevice(opts);
    return { gd };
  } catch (e) {
    if (REQUIRE_WEBGPU) throw e;
    return { reason: `no WebGPU device: ${(e as Error).message}` };
  }
}

/** mulberry32: small, seeded, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values, roughly N(0, sd) (sum of uniforms). */
export function randn(n: number, seed: number, sd = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() + r() + r() + r() - 2) * 1.7320508 * sd;
  return out;
}

/** Normalised mean squared error of `got` against `want`: sum((g - w)^2) / sum(w^2). */
export function nmse(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} != ${want.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    const d = got[i] - want[i];
    num += d * d;
    den += want[i] * want[i];
  }
  if (!Number.isFinite(num)) return Infinity;
  return den === 0 ? num : num / den;
}
