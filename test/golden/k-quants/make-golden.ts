// Writes golden.json: SHA-256 of the bytes ggml's quantize_row_*_ref produces for each input of inputs.ts,
// and of the floats its dequantize_row_* decodes from them. ggml runs from the prebuilt libggml-base.so of
// node-llama-cpp (npm run reference:install), through harness.c built with the system C compiler.
// Run: node test/golden/k-quants/make-golden.ts

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GOLDEN_INPUTS } from './inputs.ts';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(here, '../../reference/node_modules/@node-llama-cpp/linux-x64');
const lib = join(pkg, 'bins/linux-x64/libggml-base.so');
if (!existsSync(lib)) throw new Error(`${lib} not found: run npm run reference:install first`);
const version = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version as string;

const work = mkdtempSync(join(tmpdir(), 'k-quant-golden-'));
const harness = join(work, 'harness');
execFileSync('cc', ['-O2', '-o', harness, join(here, 'harness.c'), '-ldl']);

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const TYPES = ['Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'Q8_K'];

const inputs: Record<string, { n: number; input: string; quantized: Record<string, string>; dequantized: Record<string, string> }> = {};
for (const [name, make] of Object.entries(GOLDEN_INPUTS)) {
  const x = make();
  const inFile = join(work, 'in.f32');
  writeFileSync(inFile, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  const entry = { n: x.length, input: sha256(new Uint8Array(x.buffer)), quantized: {} as Record<string, string>, dequantized: {} as Record<string, string> };
  for (const type of TYPES) {
    const ggmlName = type.toLowerCase().replace('_k', '_K');
    const qFile = join(work, 'q.bin');
    const dFile = join(work, 'd.f32');
    const env = { ...process.env, GGML_BASE: lib };
    execFileSync(harness, ['q', ggmlName, inFile, qFile, String(x.length)], { env });
    execFileSync(harness, ['d', ggmlName, qFile, dFile, String(x.length)], { env });
    entry.quantized[type] = sha256(readFileSync(qFile));
    entry.dequantized[type] = sha256(readFileSync(dFile));
  }
  inputs[name] = entry;
}

const golden = {
  about: `ggml quantize_row_<type>_ref bytes and dequantize_row_<type> floats (SHA-256), from libggml-base.so of @node-llama-cpp/linux-x64 ${version}`,
  inputs,
};
writeFileSync(join(here, 'golden.json'), JSON.stringify(golden, null, 2) + '\n');
console.log(`wrote ${Object.keys(inputs).length} inputs x ${TYPES.length} types to golden.json`);
