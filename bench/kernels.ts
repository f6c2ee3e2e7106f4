// Matmul kernel speed of the cpu backend (wasm SIMD) per weight type, against the reference backend.
// Usage: node bench/kernels.ts [--cols 2048] [--rows 2048] [--threads 1,2] [--prefill 64] [--types Q4_0,Q8_0]
//
// decode: one token (a matvec), weights streamed from memory: enough copies of the [rows, cols] matrix to
//   exceed 256 MiB are visited in turn, as a model's layers are; also the same matrix again and again
//   (cache-resident). GB/s counts weight bytes read, GFLOP/s 2 * rows * cols per token.
// prefill: `--prefill` tokens per call on one cache-resident matrix (compute-bound), GFLOP/s.
// ref: the reference matmul (dequantize -> f32, plain TypeScript), one token.
// Each figure is the median of several timed runs after a warm-up. `--clock cpu` times with the process's
// CPU time instead of the wall clock: steadier on a shared machine, meaningful for 1 thread only (workers'
// spinning counts as CPU time).

import { parseArgs } from 'node:util';
import { availableParallelism, cpus } from 'node:os';
import { GGMLType, rowBytes, typeLayoutByName, typeName } from '../src/gguf/ggml-types.ts';
import type { WeightTensor } from '../src/kernels/backend.ts';
import { matmul as refMatmul } from '../src/kernels/ref/matmul.ts';
import { createCpuBackend, type CpuBackend } from '../src/kernels/wasm/backend.ts';
import { kernelTypes } from '../src/kernels/wasm/kernel-table.ts';
import { relaxedSimdSupported } from '../src/kernels/wasm/module.ts';
import { randomFloats, randomWeight } from '../src/kernels/wasm/test-util.ts';

const { values } = parseArgs({
  options: {
    cols: { type: 'string', default: '2048' },
    rows: { type: 'string', default: '2048' },
    threads: { type: 'string', default: '1,2' },
    prefill: { type: 'string', default: '64' },
    types: { type: 'string' },
    relaxed: { type: 'string' },
    'stream-mib': { type: 'string', default: '256' },
    clock: { type: 'string', default: 'wall' },
  },
});
const cols = Number(values.cols);
const rows = Number(values.rows);
const threadCounts = values.threads.split(',').map(Number);
const nPrefill = Number(values.prefill);
const streamBytes = Number(values['stream-mib']) * 2 ** 20;
const relaxed = values.relaxed === undefined ? undefined : values.relaxed !== '0';
const types = values.types
  ? values.types.split(',').map((t) => typeLayoutByName(t)!.id as number)
  : [GGMLType.F32, GGMLType.F16, GGMLType.BF16, GGMLType.Q8_0, GGMLType.Q4_0, GGMLType.Q4_1, GGMLType.Q5_0,
    GGMLType.Q5_1, GGMLType.Q2_K, GGMLType.Q3_K, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K].filter((t) => kernelTypes().includes(t));

const cpuClock = values.clock === 'cpu';
function now(): number {
  if (!cpuClock) return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median seconds per call of fn, timing batches of `inner` calls for at least ~0.2 s in all. */
function time(fn: () => void, inner: number, runs = 7): number {
  fn();
  const out: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = now();
    for (let i = 0; i < inner; i++) fn();
    out.push((now() - t0) / 1000 / inner);
  }
  return median(out);
}

function weights(be: CpuBackend, type: number, copies: number): WeightTensor[] {
  const packed = randomWeight(type, cols, rows, 1);
  return Array.from({ length: copies }, (_, i) => {
    const data = be.allocWeight(packed.length);
    data.set(packed);
    return { name: `w${i}`, type: type as WeightTensor['type'], cols, rows, data };
  });
}

const flop1 = 2 * rows * cols;
const fmt = (v: number, d = 1) => v.toFixed(d);
const header = ['type', 'B/row'];
for (const th of threadCounts) header.push(`${th}T GB/s`, `${th}T GFLOP/s`, `${th}T cached GB/s`, `${th}T prefill GFLOP/s`);
header.push('ref GFLOP/s', 'speed-up 1T');
const lines = [`| ${header.join(' | ')} |`, `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`];

for (const type of types) {
  const rb = rowBytes(type, cols);
  const bytes = rb * rows;
  const copies = Math.max(1, Math.ceil(streamBytes / bytes));
  const cells = [typeName(type), String(rb)];
  let oneThread = 0;
  for (const threads of threadCounts) {
    const be = createCpuBackend({ threads, relaxed });
    const ws = weights(be, type, copies);
    const x = be.alloc(cols * nPrefill, 'f32', 'scratch');
    be.upload(x, randomFloats(cols * nPrefill, 2));
    const y = be.alloc(rows * nPrefill, 'f32', 'scratch');
    let k = 0;
    const stream = time(() => be.matmul(ws[k++ % copies], x, 1, y), copies);
    const cached = time(() => be.matmul(ws[0], x, 1, y), 50);
    const prefill = time(() => be.matmul(ws[0], x, nPrefill, y), 3, 5);
    if (threads === 1) oneThread = stream;
    cells.push(fmt(bytes / stream / 1e9), fmt(flop1 / stream / 1e9), fmt(bytes / cached / 1e9), fmt(flop1 * nPrefill / prefill / 1e9));
    be.dispose();
  }
  const w: WeightTensor = { name: 'w', type: type as WeightTensor['type'], cols, rows, data: randomWeight(type, cols, rows, 1) };
  const xr = randomFloats(cols, 2);
  const yr = new Float32Array(rows);
  const ref = time(() => refMatmul(w, xr, 1, yr, true), 1, 3);
  cells.push(fmt(flop1 / ref / 1e9, 2), oneThread ? `${fmt(ref / oneThread, 0)}×` : '');
  lines.push(`| ${cells.join(' | ')} |`);
  process.stderr.write(`${cells.join('  ')}\n`);
}

const be = createCpuBackend({ threads: 1, relaxed });
console.log(`cpu backend matmul, [${rows} x ${cols}] weights; ${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} threads available; ` +
  `Node ${process.version}; ${be.relaxed ? 'relaxed SIMD' : 'SIMD128'} kernels${relaxedSimdSupported() ? '' : ' (relaxed SIMD unsupported)'}; ` +
  `${cpuClock ? 'CPU time' : 'wall clock'}`);
be.dispose();
console.log(lines.join('\n'));
