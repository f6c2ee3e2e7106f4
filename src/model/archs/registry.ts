// Architecture registry: each architecture file (archs/<name>.ts) registers one Architecture module.

import type { Architecture } from './types.ts';
import type { DecoderHParams } from '../hparams.ts';

const ARCHS = new Map<string, Architecture>();

export function registerArch<H extends DecoderHParams>(arch: Architecture<H>): void {
  ARCHS.set(arch.name, arch as unknown as Architecture);
}

/** The module for a general.architecture value, if one is registered. */
export function architecture(name: string): Architecture | undefined {
  return ARCHS.get(name);
}

export function supportedArchs(): string[] {
  return [...ARCHS.keys()];
}
