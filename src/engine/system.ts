// What this machine offers a model: cores, memory (and a cgroup's limit on it), and WebGPU adapters.

import { availableParallelism, freemem, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { openGpuDevice, webgpuPackageMissing } from '../kernels/webgpu/gpu-device.ts';

export interface GpuAdapterInfo {
  description: string;
  limits: Record<string, number>;
  shaderF16: boolean;
  subgroups: boolean;
  compat: boolean;
}

export interface SystemInfo {
  cores: number;
  totalMemory: number;
  freeMemory: number;
  /** Bytes the cgroup allows, null when it sets no limit, undefined when no cgroup file could be read. */
  cgroupLimit: number | null | undefined;
  gpu: { adapters: GpuAdapterInfo[]; unavailable?: string };
}

/** cgroup v2 memory.max, else v1 memory.limit_in_bytes ('max', or v1's near-2^63 value: no limit). */
export function cgroupMemoryLimit(root = '/sys/fs/cgroup'): number | null | undefined {
  for (const file of [`${root}/memory.max`, `${root}/memory/memory.limit_in_bytes`]) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch {
      continue;
    }
    if (text === 'max') return null;
    const n = Number(text);
    if (!Number.isFinite(n)) continue;
    return n >= 2 ** 62 ? null : n;
  }
  return undefined;
}

export async function systemInfo(): Promise<SystemInfo> {
  const gpu: SystemInfo['gpu'] = { adapters: [] };
  const missing = webgpuPackageMissing();
  if (missing) gpu.unavailable = missing;
  else {
    try {
      const d = await openGpuDevice();
      gpu.adapters.push({ description: d.description, limits: { ...d.limits }, shaderF16: d.caps.f16, subgroups: d.caps.subgroups, compat: d.caps.compat });
      await d.destroy();
    } catch (e) {
      gpu.unavailable = (e as Error).message;
    }
  }
  return { cores: availableParallelism(), totalMemory: totalmem(), freeMemory: freemem(), cgroupLimit: cgroupMemoryLimit(), gpu };
}
