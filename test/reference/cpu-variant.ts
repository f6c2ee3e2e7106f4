// Which of ggml's CPU libraries the reference runs on, and how to make it run on a chosen one.
//
// The prebuilt node-llama-cpp binary ships one ggml CPU library per x86 level (libggml-cpu-x64.so, -sse42,
// -sandybridge, -haswell, -skylakex, -icelake, -zen4, …) and ggml loads the best one this CPU supports from
// the binary's folder. Their numerics differ (activation packing, accumulation order, bf16 dot products), so
// a parity bound has to hold for each of them. HEARTH_REFERENCE_CPU=<variant> runs the reference on that one
// library: a copy of test/reference/node_modules (hard links, so it costs no space) under
// test/.cache/reference-cpu/<variant>/ whose binary folder holds only that variant's CPU library.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REFERENCE_MODULES = join(HERE, 'node_modules');
const BINS = join('@node-llama-cpp', 'linux-x64', 'bins', 'linux-x64');
const VARIANT_CACHE = join(HERE, '..', '.cache', 'reference-cpu');
const CPU_LIB = /^libggml-cpu-(.+)\.so$/;

/** The folder of the prebuilt binary's libraries (libggml-base.so, libggml-cpu-*.so, the addon) under `modules`. */
export function referenceBinsDir(modules = REFERENCE_MODULES): string {
  return join(modules, BINS);
}

/** The CPU variants the installed binary ships (whether or not this CPU can run them). */
export function shippedCpuVariants(modules = REFERENCE_MODULES): string[] {
  const dir = referenceBinsDir(modules);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => CPU_LIB.exec(f)?.[1] ?? []).sort();
}

/** The variant requested through HEARTH_REFERENCE_CPU, or undefined for ggml's own choice. */
export function requestedCpuVariant(): string | undefined {
  return process.env.HEARTH_REFERENCE_CPU || undefined;
}

/**
 * node_modules folder for the reference: the installed one, or a copy that offers ggml only `variant`'s
 * CPU library. Built once per variant (a rename makes it appear whole).
 */
export function referenceModulesFor(variant: string | undefined): string {
  if (variant === undefined) return REFERENCE_MODULES;
  const shipped = shippedCpuVariants();
  if (!shipped.includes(variant)) {
    throw new Error(`HEARTH_REFERENCE_CPU=${variant}: the reference binary ships ${shipped.join(', ') || 'no CPU libraries'}`);
  }
  const target = join(VARIANT_CACHE, variant, 'node_modules');
  if (existsSync(target)) return target;
  const tmp = `${target}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(dirname(target), { recursive: true });
  let r = spawnSync('cp', ['-al', REFERENCE_MODULES, tmp]);
  if (r.status !== 0) r = spawnSync('cp', ['-a', REFERENCE_MODULES, tmp]); // another file system: copy
  if (r.status !== 0) throw new Error(`could not copy ${REFERENCE_MODULES}: ${r.stderr?.toString() ?? r.error?.message}`);
  for (const other of shippedCpuVariants(tmp)) if (other !== variant) unlinkSync(join(referenceBinsDir(tmp), `libggml-cpu-${other}.so`));
  try {
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(target)) throw e; // another process won the race otherwise
  }
  return target;
}

/** The ggml CPU libraries mapped into this process (call after the backend loaded). */
export function loadedCpuVariants(): string[] {
  if (process.platform !== 'linux') return [];
  const maps = readFileSync('/proc/self/maps', 'utf8');
  const seen = new Set<string>();
  for (const line of maps.split('\n')) {
    const m = /libggml-cpu-([^/]+)\.so$/.exec(line.trim());
    if (m) seen.add(m[1]);
  }
  return [...seen];
}
