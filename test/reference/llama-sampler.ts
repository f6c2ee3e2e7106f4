// llama.cpp's mirostat samplers from the reference binary's libllama, through llama-sampler-harness.c (built once
// with the system C compiler into test/.cache): node-llama-cpp has no mirostat option, so the C API is called directly.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { referenceBinsDir } from './cpu-variant.ts';
import { buildHarness } from './ggml-cpu.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const SOURCE = join(HERE, 'llama-sampler-harness.c');
const BINARY = join(HERE, '..', '.cache', 'llama-sampler-harness');

function libllama(): string {
  const dir = referenceBinsDir();
  const name = existsSync(dir) ? readdirSync(dir).find((f) => /^libllama(\.v[\d.]+)?\.so$/.test(f)) : undefined;
  if (!name) throw new Error(`no libllama in ${dir}`);
  return join(dir, name);
}

export interface MirostatRun {
  version: 1 | 2;
  seed: number;
  tau: number;
  eta: number;
  nVocab: number;
  /** steps × nVocab logits, one row per step. */
  logits: Float32Array;
}

/** The token llama.cpp's mirostat (one sampler for all steps) selects at each row. */
export function llamaMirostat(run: MirostatRun): number[] {
  const bin = buildHarness(SOURCE, BINARY);
  const steps = run.logits.length / run.nVocab;
  const work = mkdtempSync(join(tmpdir(), 'llama-sampler-'));
  try {
    const inFile = join(work, 'in.f32');
    const outFile = join(work, 'out.i32');
    writeFileSync(inFile, new Uint8Array(run.logits.buffer, run.logits.byteOffset, run.logits.byteLength));
    const r = spawnSync(bin, [libllama(), String(run.version), String(run.nVocab), String(steps), String(run.seed >>> 0),
      String(run.tau), String(run.eta), inFile, outFile], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`llama-sampler-harness failed (exit ${r.status}): ${r.stderr}`);
    const b = readFileSync(outFile);
    return Array.from(new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
