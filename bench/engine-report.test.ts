import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeGBs, engineSection, prefillGflops, type EngineRow } from './engine-report.ts';

const facts = { fileBytes: 2e9, decodeBytes: 1e9, matmulParams: 5e8 };
const run = (prefillTps: number, decodeTps: number) => ({ loadS: 1, prefillTps, decodeTps, peakRssMb: 1000 });
const row = (type: string, threads: number, llama = true): EngineRow => ({
  type, threads, facts, hearth: run(50, 10), llama: llama ? run(100, 20) : null, loadAvg: 0.5,
  date: '2026-01-01', revision: 'abc', llamaBuild: 'b1',
});

test('bandwidth and FLOP/s follow from bytes and params per token', () => {
  assert.equal(decodeGBs(run(0, 10), facts), 10);
  assert.equal(prefillGflops(run(50, 0), facts), 50);
});

test('rows sort by type then threads; ratios are Hearth over llama.cpp', () => {
  const md = engineSection([row('Q4_0', 2), row('Q8_0', 2), row('Q8_0', 1)], { machine: 'm', node: 'v24', nPrompt: 512, nGen: 128 });
  const lines = md.split('\n').filter((l) => l.startsWith('| Q'));
  assert.deepEqual(lines.slice(0, 3).map((l) => l.split('|').slice(1, 5).map((s) => s.trim()).join(' ')),
    ['Q8_0 2.00 1 Hearth', 'Q8_0 2.00 1 llama.cpp', 'Q8_0 2.00 2 Hearth']);
  assert.ok(md.includes('| Q4_0 | 2 | 0.50× | 0.50× | 1.00× | 1.00× |'));
  assert.ok(md.includes('pp512 t/s'));
});

test('rows without llama.cpp get no ratio line', () => {
  const md = engineSection([row('Q8_0', 1, false)], { machine: 'm', node: 'v24', nPrompt: 512, nGen: 128 });
  assert.ok(!md.includes('Hearth / llama.cpp'));
  assert.ok(md.includes('| Q8_0 | 1 | 1000 | 10.0 | – |'));
});
