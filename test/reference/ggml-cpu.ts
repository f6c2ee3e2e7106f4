// ggml's own activation packers, per CPU library of the reference binary, called through ggml-cpu-harness.c
// (built once with the system C compiler into test/.cache). Tests use it to check that Hearth's emulation of
// one ggml code path is that code path, bit for bit, rather than inferring it from whole-model output.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { referenceBinsDir } from './cpu-variant.ts';
import { SeededRandom } from '../fixtures/seeded-random.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const SOURCE = join(HERE, 'ggml-cpu-harness.c');
const BINARY = join(HERE, '..', '.cache', 'ggml-cpu-harness');
const BINS = referenceBinsDir();

export type PackOp = 'q8_0' | 'q8_1' | 'q8_K' | 'bf16' | 'q8_0_ref' | 'q8_1_ref' | 'q8_K_ref' | 'bf16_ref';

/** Why the harness cannot run here, or null. */
export function ggmlHarnessUnavailable(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `the pinned ggml binaries are linux-x64; this is ${process.platform}-${process.arch}`;
  if (!existsSync(join(BINS, 'libggml-base.so'))) return `${BINS}/libggml-base.so is missing (npm run reference:install)`;
  if (spawnSync('cc', ['--version']).status !== 0) return 'no C compiler (cc) to build test/reference/ggml-cpu-harness.c (npm run setup installs gcc)';
  return null;
}

/** The C harness `source` compiled to `binary` (again only when the source is newer); returns the binary. */
export function buildHarness(source: string, binary: string): string {
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(source).mtimeMs) return binary;
  mkdirSync(dirname(binary), { recursive: true });
  const tmp = `${binary}.tmp-${process.pid}`;
  execFileSync('cc', ['-O2', '-o', tmp, source, '-ldl']);
  renameSync(tmp, binary);
  return binary;
}

const harness = () => buildHarness(SOURCE, BINARY);

/**
 * `op` applied by ggml to `x` (length a multiple of 256) in the CPU library `variant` (or libggml-base.so's
 * reference code for the *_ref ops, loaded beside it); null when that library refuses this CPU.
 */
export function ggmlPack(variant: string, op: PackOp, x: Float32Array): Uint8Array | null {
  const bin = harness();
  const work = mkdtempSync(join(tmpdir(), 'ggml-pack-'));
  try {
    const inFile = join(work, 'in.f32');
    const outFile = join(work, 'out.bin');
    writeFileSync(inFile, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
    const r = spawnSync(bin, [join(BINS, `libggml-cpu-${variant}.so`), join(BINS, 'libggml-base.so'), op, inFile, outFile, String(x.length)], { encoding: 'utf8' });
    if (r.status === 77) return null;
    if (r.status !== 0) throw new Error(`ggml-cpu-harness ${variant} ${op} failed (exit ${r.status}): ${r.stderr}`);
    return new Uint8Array(readFileSync(outFile));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Floats that separate the packings: normal rows, exact ties, scale-rounding edges, zeros, tiny values. */
export function packingProbe(): Float32Array {
  const n = 256 * 64;
  const x = new Float32Array(n);
  const rng = new SeededRandom(7);
  rng.fillNormal(x.subarray(0, 256 * 32), 1, 0);
  // Blocks with amax 127: d = 1, so halves are exact ties (half-even and half-away disagree on them).
  for (let i = 256 * 32; i < 256 * 40; i++) x[i] = i % 32 === 0 ? 127 : ((i % 251) - 125) + 0.5;
  // amax values where 127 / amax and 1 / (amax / 127) differ in the last bit, with values on the edge.
  for (let b = 0; b < (256 * 16) / 32; b++) {
    const o = 256 * 40 + b * 32;
    const amax = Math.fround(0.7 + b * 0.0137);
    x[o] = amax;
    for (let j = 1; j < 32; j++) x[o + j] = Math.fround((amax * (j + 0.5 - 16)) / 127);
  }
  // All-zero blocks, one nonzero value, negative maxima, tiny magnitudes.
  for (let i = 256 * 56; i < 256 * 60; i++) x[i] = i % 97 === 0 ? -3.25 : 0;
  rng.fillNormal(x.subarray(256 * 60), 1e-30, 0);
  return x;
}

