#!/usr/bin/env node
// Lists the ggml CPU libraries the reference binary ships and whether this CPU runs each one, so a parity
// run can be repeated per variant: HEARTH_REFERENCE_CPU=<variant> npm test -- test/parity/*.test.ts
// Usage: node test/reference/variants.ts [--json]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REFERENCE_SCRIPT } from './client.ts';
import { shippedCpuVariants } from './cpu-variant.ts';
import { sharedPath } from '../shared.ts';

const model = sharedPath('models', 'stories260K.gguf');
const rows = shippedCpuVariants().map((variant) => {
  const r = spawnSync(process.execPath, [REFERENCE_SCRIPT], {
    input: JSON.stringify({ model, vocabOnly: true, ops: [] }),
    encoding: 'utf8',
    env: { ...process.env, HEARTH_REFERENCE_CPU: variant },
  });
  let runs = false;
  let why = '';
  try {
    const res = JSON.parse(r.stdout) as { ok: boolean; info?: { cpuVariant: string }; error?: string };
    runs = res.ok && res.info?.cpuVariant === variant;
    why = res.ok ? '' : (res.error ?? '').split('\n')[0];
  } catch {
    why = `exit ${r.status}: ${r.stderr.slice(-200)}`;
  }
  return { variant, runs, why };
});
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows));
} else {
  for (const r of rows) console.log(`${r.variant.padEnd(16)} ${r.runs ? 'runs here' : `no: ${r.why}`}`);
  console.log(`\nbinaries from ${join('test', 'reference', 'node_modules', '@node-llama-cpp', 'linux-x64')}`);
}
