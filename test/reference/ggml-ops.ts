// ggml's own element-wise, norm and softmax ops, per CPU library of the reference binary, through a one-node
// graph (ggml-ops-harness.c, built once with the system C compiler into test/.cache), so the reference ops of
// src/kernels/ref/ are checked against the ops llama.cpp runs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { referenceBinsDir } from './cpu-variant.ts';
import { buildHarness } from './ggml-cpu.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const SOURCE = join(HERE, 'ggml-ops-harness.c');
const BINARY = join(HERE, '..', '.cache', 'ggml-ops-harness');
const BINS = referenceBinsDir();

export type GgmlOp = 'norm' | 'gelu' | 'gelu_erf' | 'geglu' | 'soft_max' | 'softcap';

const harness = () => buildHarness(SOURCE, BINARY);

/**
 * `op` on x ([rows, n]) followed by the op's other inputs (see the harness), with parameter p (eps, scale or cap),
 * in the CPU library `variant`; null when that library refuses this CPU.
 */
export function ggmlOp(variant: string, op: GgmlOp, input: Float32Array, n: number, rows: number, p = 0): Float32Array | null {
  const bin = harness();
  const work = mkdtempSync(join(tmpdir(), 'ggml-op-'));
  try {
    const inFile = join(work, 'in.f32');
    const outFile = join(work, 'out.f32');
    writeFileSync(inFile, new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
    const r = spawnSync(bin, [join(BINS, `libggml-cpu-${variant}.so`), join(BINS, 'libggml-base.so'), op, inFile, outFile,
      String(n), String(rows), String(p)], { encoding: 'utf8' });
    if (r.status === 77) return null;
    if (r.status !== 0) throw new Error(`ggml-ops-harness ${variant} ${op} failed (exit ${r.status}): ${r.stderr}`);
    const b = readFileSync(outFile);
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4).slice();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
