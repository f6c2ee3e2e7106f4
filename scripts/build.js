#!/usr/bin/env node
// Compiles the WebAssembly kernels (AssemblyScript, src/kernels/wasm/assembly) into build/:
//   build/kernels-simd.wasm     SIMD128 + threads (any engine with WebAssembly SIMD)
//   build/kernels-relaxed.wasm  the same plus relaxed SIMD (chosen at run time when the engine validates it)
// Both import a shared memory (env.memory, up to 4 GiB) and contain no data segments.
// Usage: node scripts/build.js [--check]   (--check: exit 1 when an output is missing or older than its sources)
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src/kernels/wasm/assembly');
const outDir = join(root, 'build');
const entry = join(srcDir, 'index.ts');

const common = [
  '-O3', '--noAssert', '--runtime', 'stub', '--noExportMemory',
  '--importMemory', '--sharedMemory', '--initialMemory', '1', '--maximumMemory', '65536',
];
const targets = [
  { out: 'kernels-simd.wasm', features: 'simd,threads' },
  { out: 'kernels-relaxed.wasm', features: 'simd,threads,relaxed-simd' },
];

function newestSource() {
  return Math.max(...readdirSync(srcDir).map((f) => statSync(join(srcDir, f)).mtimeMs), statSync(fileURLToPath(import.meta.url)).mtimeMs);
}

function upToDate() {
  const src = newestSource();
  return targets.every((t) => existsSync(join(outDir, t.out)) && statSync(join(outDir, t.out)).mtimeMs >= src);
}

if (process.argv.includes('--check')) process.exit(upToDate() ? 0 : 1);

let asc;
try {
  asc = (await import('assemblyscript/asc')).default;
} catch {
  process.stderr.write('build: assemblyscript is not installed (a devDependency); the wasm kernels were not built.\n');
  process.exit(0);
}

mkdirSync(outDir, { recursive: true });
for (const t of targets) {
  // Written under a temporary name and renamed, so a process loading the kernels never sees half a file.
  const tmp = join(outDir, `${t.out}.${process.pid}.tmp`);
  const args = [entry, '-o', tmp, ...common, '--enable', t.features];
  const { error, stderr } = await asc.main(args);
  if (error) {
    process.stderr.write(stderr.toString());
    process.stderr.write(`build: ${t.out} failed: ${error.message}\n`);
    process.exit(1);
  }
  renameSync(tmp, join(outDir, t.out));
}
process.stdout.write(`build: ${targets.map((t) => `build/${t.out}`).join(', ')}\n`);
