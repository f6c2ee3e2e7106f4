// The compiled kernel module: build/kernels-relaxed.wasm where the engine has relaxed SIMD, else
// build/kernels-simd.wasm. Compiled once per process and variant; workers receive the compiled Module.
// In a source checkout a missing or stale build is rebuilt (scripts/build.js) before the first load.

import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HearthError } from '../../util/errors.ts';
import { wasm, type WasmModule } from './wasm-api.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUILD_SCRIPT = `${ROOT}scripts/build.js`;
const FILES = { simd: `${ROOT}build/kernels-simd.wasm`, relaxed: `${ROOT}build/kernels-relaxed.wasm` } as const;

export interface KernelModule {
  readonly module: WasmModule;
  /** True for the relaxed-SIMD build. */
  readonly relaxed: boolean;
}

const cache = new Map<boolean, KernelModule>();
let buildChecked = false;

function ensureBuilt(): void {
  if (buildChecked) return;
  buildChecked = true;
  if (!existsSync(BUILD_SCRIPT)) return;
  const check = spawnSync(process.execPath, [BUILD_SCRIPT, '--check']);
  if (check.status === 0) return;
  const r = spawnSync(process.execPath, [BUILD_SCRIPT], { encoding: 'utf8' });
  if (r.status !== 0) throw new HearthError('internal', `building the wasm kernels failed: ${r.stderr || r.stdout}`);
}

function readModule(path: string): Uint8Array {
  if (!existsSync(path)) {
    throw new HearthError('not_found', `${path} is missing: build the wasm kernels with \`node scripts/build.js\` (needs the assemblyscript devDependency)`);
  }
  return readFileSync(path);
}

/** Whether this engine validates the relaxed-SIMD build. */
export function relaxedSimdSupported(): boolean {
  ensureBuilt();
  return existsSync(FILES.relaxed) && wasm.validate(readFileSync(FILES.relaxed));
}

/** The kernel module; `relaxed` undefined picks relaxed SIMD when supported. */
export function kernelModule(relaxed?: boolean): KernelModule {
  ensureBuilt();
  const want = relaxed ?? relaxedSimdSupported();
  let m = cache.get(want);
  if (!m) {
    const bytes = readModule(want ? FILES.relaxed : FILES.simd);
    if (want && !wasm.validate(bytes)) {
      throw new HearthError('invalid_argument', 'this JavaScript engine does not support relaxed SIMD');
    }
    m = { module: new wasm.Module(bytes), relaxed: want };
    cache.set(want, m);
  }
  return m;
}
