// Architecture registry: each architecture file registers one ArchSpec.

import type { RopeOrder } from '../../kernels/ref/rope.ts';

export interface ArchSpec {
  /** general.architecture value. */
  name: string;
  ropeOrder: RopeOrder;
  /** Q/K/V projections carry biases (qwen2). */
  attnBias: boolean;
}

const ARCHS = new Map<string, ArchSpec>();

export function registerArch(spec: ArchSpec): void {
  ARCHS.set(spec.name, spec);
}

export function archSpec(name: string): ArchSpec | undefined {
  return ARCHS.get(name);
}

export function supportedArchs(): string[] {
  return [...ARCHS.keys()];
}
