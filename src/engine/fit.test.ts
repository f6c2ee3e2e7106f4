// estimateModelBytes against what a loaded model holds after one full-context forward (cpu backend): synthetic
// Q8_0 and Q4_K llamas at two context sizes and a gemma3 (ring KV for its sliding layers). Weights and KV must be
// exact, the total within 10%. Measured: ~15 s alone on 2 shared cores.

import { test } from 'node:test';
import assert from 'node:assert/strict';
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
    const err = Math.abs(est.total - total) / total;
    assert.ok(err < 0.1, `${path} at ${nCtx}: estimate ${est.total} vs ${total} (${(err * 100).toFixed(1)}%)`);
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
