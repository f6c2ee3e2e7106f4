// Weight quantization speed per type: the TypeScript reference encoders (src/quant/ref) against the wasm
// weight encoders (src/kernels/wasm/weight-encoder.ts), one thread, on N(0, 1) rows of 2048 (the bytes are
// checked equal first). ns per value is the best of --reps timed runs after a warm-up (the wall clock; on a
// shared machine the fastest run is the one least disturbed by other processes).
// Usage: node bench/quantize.ts [--values 262144] [--reps 5] [--types Q4_K,Q8_0] [--no-write]

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GGMLType, typeLayoutByName, typeName } from '../src/gguf/ggml-types.ts';
import { quantizeTensor } from '../src/quant/index.ts';
import { gaussianData } from '../src/quant/block-test-data.ts';
import { WASM_WEIGHT_TYPES, createWasmWeightEncoder } from '../src/kernels/wasm/weight-encoder.ts';
import { REPO_ROOT } from '../test/shared.ts';
import { hearthRevision, machineDescription, writeSection } from './benchmarks-md.ts';

const HEADING = '## Weight quantization';
const { values } = parseArgs({
  options: {
    values: { type: 'string', default: String(1 << 18) },
    reps: { type: 'string', default: '25' },
    types: { type: 'string' },
    'row-len': { type: 'string', default: '2048' },
    'no-write': { type: 'boolean' },
  },
});
const rowLen = Number(values['row-len']);
const nValues = Math.ceil(Number(values.values) / rowLen) * rowLen;
const reps = Number(values.reps);
const types = values.types
  ? values.types.split(',').map((n) => {
    const t = typeLayoutByName(n.trim());
    if (!t || !WASM_WEIGHT_TYPES.has(t.id)) throw new Error(`no wasm weight encoder for ${n}`);
    return t.id;
  })
  : [GGMLType.Q2_K, GGMLType.Q3_K, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K, GGMLType.Q4_0, GGMLType.Q4_1,
    GGMLType.Q5_0, GGMLType.Q5_1, GGMLType.Q8_0];

/** The fastest of `reps` calls, in milliseconds. */
function bestMs(fn: () => void): number {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/** The AVX-family flags of the first CPU, as /proc/cpuinfo lists them (the wasm engine picks its code from these). */
function cpuFlags(): string {
  try {
    const m = /^flags\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    const flags = (m?.[1] ?? '').split(/\s+/).filter((f) => /^(avx|fma|f16c|sse4)/.test(f));
    return flags.join(' ') || 'unknown';
  } catch {
    return 'unknown';
  }
}

const x = gaussianData(nValues, 2048);
const enc = createWasmWeightEncoder();
const rows: string[] = [];
for (const type of types) {
  const want = quantizeTensor(type, x, rowLen, { reference: true });
  const got = new Uint8Array(want.length);
  enc.encode(type, x, rowLen, got);
  if (!Buffer.from(got).equals(want)) throw new Error(`${typeName(type)}: the wasm bytes differ from the reference`);
  // The TypeScript encoders are slow: time them on a slice (at least 8 rows) so a run stays in minutes.
  const tsValues = Math.min(nValues, Math.max(8 * rowLen, Math.floor(nValues / 8 / rowLen) * rowLen));
  const xs = x.subarray(0, tsValues);
  const ts = bestMs(() => quantizeTensor(type, xs, rowLen, { reference: true })) * 1e6 / tsValues;
  const wa = bestMs(() => enc.encode(type, x, rowLen, got)) * 1e6 / nValues;
  const row = `| ${typeName(type)} | ${ts.toFixed(1)} | ${wa.toFixed(2)} | ${(ts / wa).toFixed(1)}x |`;
  rows.push(row);
  process.stdout.write(`${row}\n`);
}

const body = [
  'Encoding f32 weights, one thread: the TypeScript reference encoders (`src/quant/ref`, float32 emulated with',
  '`Math.fround`) and the wasm weight encoders (`src/kernels/wasm/assembly/quantize-weights.ts`, native f32 in the same',
  'order: the same bytes, checked before timing). `hearth quantize` and the test fixtures use the wasm ones.',
  `N(0, 1) rows of ${rowLen}, ${nValues} values (the TypeScript column on a slice of at least 8 rows); the best of ${reps}`,
  'runs after a warm-up (wall clock), in ns per value (lower is better); the wasm column includes the copies through',
  'its memory.',
  '',
  `Machine: ${machineDescription()}; flags ${cpuFlags()}; Node ${process.version}; hearth ${hearthRevision()}.`,
  'Regenerate: `node bench/quantize.ts`.',
  '',
  '| type | TypeScript ns/value | wasm ns/value | speed-up |',
  '|---|---:|---:|---:|',
  ...rows,
].join('\n');
if (!values['no-write']) {
  writeSection(join(REPO_ROOT, 'BENCHMARKS.md'), HEADING, body);
  process.stdout.write('wrote BENCHMARKS.md\n');
}
