// estimateModelBytes against what a loaded model holds after one full-context forward (cpu backend): synthetic
// Q8_0 and Q4_K llamas at two context sizes and a gemma3 (ring KV for its sliding layers). Weights and KV must be
// exact, the backend total within 10%; and the whole estimate against the resident growth of a process serving a small
// model (its vocabulary heap dominates), within 20% (measured 5-10%). Measured: ~8 s alone on 2 shared cores.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { syntheticModelPath } from '../../test/fixtures/synthetic-model.ts';
import { syntheticFamilyPath } from '../../test/fixtures/synthetic-families.ts';
import { estimateModelBytes } from './fit.ts';
import { loadModel } from './load.ts';
import { Context } from './context.ts';

function check(path: string, nCtx: number, nBatch = 512): number {
  const est = estimateModelBytes(path, { backend: 'cpu', nCtx, threads: 1, nBatch });
  const m = loadModel(path, { backend: 'cpu', nCtx, threads: 1, nBatch });
  try {
    const ctx = new Context(m);
    ctx.eval(Array.from({ length: nCtx }, (_, i) => 1 + (i % 50)));
    const got = m.memory();
    assert.equal(est.weights, got.weights, 'weights');
    assert.equal(est.kv, got.kv, 'kv');
    assert.equal(est.kv, m.kvBytes(nCtx));
    const total = got.weights + got.kv + got.scratch;
    const err = Math.abs(est.backendTotal - total) / total;
    assert.ok(err < 0.1, `${path} at ${nCtx}: estimate ${est.backendTotal} vs ${total} (${(err * 100).toFixed(1)}%)`);
    ctx.dispose();
    return est.kv;
  } finally {
    m.dispose();
  }
}

test('Q8_0 llama at two context sizes', () => {
  const p = syntheticModelPath({ nEmbd: 64, nLayer: 2, nHead: 4, nHeadKv: 2, nFF: 128, weightType: 'Q8_0' });
  check(p, 128);
  check(p, 256);
});

test('Q4_K llama at two context sizes', () => {
  const p = syntheticModelPath({ nEmbd: 256, nLayer: 2, nHead: 4, nHeadKv: 2, nFF: 512, weightType: 'Q4_K' });
  check(p, 256);
  check(p, 512);
});

test('gemma3: ring KV for sliding layers', () => {
  // window 16 with 64-token batches: the sliding layer keeps a 256-row ring, the global one 512 rows
  const p = syntheticFamilyPath({ family: 'gemma3' });
  const kv = check(p, 512, 64);
  const m = loadModel(p, { backend: 'cpu', nCtx: 512, threads: 1 });
  const full = m.hp.nLayer * 512 * 2 * m.hp.nHeadKv * m.hp.headDim * 2;
  m.dispose();
  assert.ok(kv < full, `ring layers cost less than full ones (${kv} vs ${full})`);
});

test('total: resident growth of a process that serves the model (vocabulary heap twice, engine thread) within 20%', () => {
  // A small model whose 32000-token vocabulary outweighs its weights, so the metadata term is what is checked.
  const p = syntheticModelPath({ nEmbd: 256, nLayer: 2, nHead: 4, nHeadKv: 2, nFF: 512, weightType: 'Q8_0' });
  const nCtx = 256;
  const est = estimateModelBytes(p, { backend: 'cpu', nCtx, threads: 1 });
  const provider = pathToFileURL(join(import.meta.dirname, '..', 'provider', 'local-provider.ts')).href;
  const script = `
    const { readFileSync } = await import('node:fs');
    const rss = () => Number(/^VmRSS:\\s+(\\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
    const { localProvider } = await import(${JSON.stringify(provider)});
    const before = rss();
    const m = await localProvider({ path: ${JSON.stringify(p)}, load: { nCtx: ${nCtx}, threads: 1, backend: 'cpu' } },
      { scheduler: { parallel: 1, queueLimit: 1, timeoutMs: 600000 } })();
    const tokens = Array.from({ length: ${nCtx - 1} }, (_, i) => 1000 + i);
    const g = await m.generate({ model: m.card.id, prompts: [{ kind: 'tokens', tokens }], n: 1, maxTokens: 1,
      sampling: { temperature: 0 }, stop: [], stream: true });
    await g.collect();
    process.stdout.write(String(rss() - before));
    process.exit(0);`;
  // a script file, not --eval: the engine thread inherits the process's execArgv
  const dir = mkdtempSync(join(tmpdir(), 'hearth-fit-'));
  let grown: number;
  try {
    writeFileSync(join(dir, 'serve.mjs'), script);
    grown = Number(execFileSync(process.execPath, [join(dir, 'serve.mjs')], { encoding: 'utf8' }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const err = Math.abs(est.total - grown) / grown;
  assert.ok(est.metadata > est.backendTotal, 'the vocabulary dominates this model');
  assert.ok(err < 0.2, `estimate ${est.total} vs resident growth ${grown} (${(err * 100).toFixed(1)}%)`);
});
