// Explicit memory: what a loaded model reports against the file's tensor bytes and the KV formula, the f16 cache
// at llama.cpp's size, and dispose() returning memory at once (and refusing use afterwards).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedPath } from '../../test/shared.ts';
import { openGGUF } from '../gguf/reader.ts';
import { isHearthError } from '../util/errors.ts';
import { Context } from './context.ts';
import { embed } from './embed.ts';
import { loadModel } from './load.ts';

const STORIES = sharedPath('models', 'stories260K.gguf');
const pad64 = (n: number) => Math.max(64, Math.ceil(n / 64) * 64);

function fileTensors(path: string) {
  const f = openGGUF(path);
  try {
    return f.tensors.map((t) => ({ name: t.name, bytes: t.byteSize, type: t.type }));
  } finally {
    f.close();
  }
}

test('weights: the file\'s tensor bytes exactly (ref), plus only 64-byte alignment in wasm memory (cpu)', () => {
  const tensors = fileTensors(STORIES);
  const fileBytes = tensors.reduce((s, t) => s + t.bytes, 0);
  // stories260K keeps its norms in F32, so the f32 vectors uploaded at load have the file's size
  const ref = loadModel(STORIES, { backend: 'ref', nCtx: 64 });
  assert.equal(ref.file.tensorBytes, fileBytes);
  assert.equal(ref.memory().weights, fileBytes);
  const cpu = loadModel(STORIES, { backend: 'cpu', threads: 1, nCtx: 64 });
  assert.equal(cpu.memory().weights, tensors.reduce((s, t) => s + pad64(t.bytes), 0));
  assert.deepEqual([cpu.memory().kv, cpu.memory().scratch], [0, 0]);
  ref.dispose();
  cpu.dispose();
});

test('KV cache per token is llama.cpp\'s f16 cache: nLayer * 2 * nHeadKv * headDim * 2 bytes; measured in backend memory', () => {
  for (const backend of ['ref', 'cpu'] as const) {
    const m = loadModel(STORIES, { backend, threads: 1, nCtx: 64 });
    const { nLayer, nHeadKv, headDim } = m.hp;
    // llama.cpp (llama_kv_cache, type_k = type_v = f16): per layer ggml_row_size(f16, n_embd_k_gqa) * kv_size for K,
    // the same for V; n_embd_k_gqa = nHeadKv * headDim. stories260K: 5 layers, 4 KV heads of 8 -> 640 bytes a token.
    assert.equal(m.kvBytesPerToken, nLayer * 2 * nHeadKv * headDim * 2);
    assert.equal(m.kvBytesPerToken, 640);
    const ctx = new Context(m);
    assert.equal(ctx.cache.bytes, 640 * 64);
    assert.equal(m.memory().kv, 640 * 64, `${backend}: allocated KV bytes`);
    ctx.eval([1, 403, 407]);
    assert.ok(m.memory().scratch > 0, 'activations and logits are scratch');
    const b = new Context(m);
    assert.equal(m.memory().kv, 2 * 640 * 64);
    b.dispose();
    ctx.dispose();
    assert.equal(m.memory().kv, 0, `${backend}: dispose() returns the KV memory at once`);
    m.dispose();
  }
  const f32 = loadModel(STORIES, { backend: 'cpu', threads: 1, nCtx: 64, kvF16: false });
  assert.equal(f32.kvBytesPerToken, 1280);
  const c = new Context(f32);
  assert.equal(f32.memory().kv, 1280 * 64);
  c.dispose();
  f32.dispose();
});

test('a disposed context\'s memory is reused by the next, and embed() leaves no cache behind', () => {
  const m = loadModel(STORIES, { backend: 'cpu', threads: 1, nCtx: 64 });
  const ids = [1, 403, 407, 263];
  const first = new Context(m);
  const logits = first.eval(ids).slice();
  first.dispose();
  const heapAfterOne = (m.backend as unknown as { memoryBytes: number }).memoryBytes;
  for (let i = 0; i < 5; i++) {
    const c = new Context(m);
    assert.deepEqual(c.eval(ids), logits, 'a reused (zeroed) cache gives the same logits');
    c.dispose();
  }
  assert.equal((m.backend as unknown as { memoryBytes: number }).memoryBytes, heapAfterOne, 'no growth: freed regions are reused');
  embed(m, ids);
  assert.equal(m.memory().kv, 0);
  m.dispose();
});

test('dispose() is idempotent, and using a disposed context, cache or model throws a clear error', () => {
  const m = loadModel(STORIES, { backend: 'cpu', threads: 1, nCtx: 64 });
  const ctx = new Context(m);
  ctx.dispose();
  ctx.dispose();
  assert.throws(() => ctx.eval([1]), (e) => isHearthError(e, 'invalid_argument') && /disposed/.test(e.message));
  assert.throws(() => ctx.cache.k(0), (e) => isHearthError(e, 'invalid_argument') && /disposed/.test(e.message));
  m.dispose();
  m.dispose();
  assert.equal(m.disposed, true);
  assert.throws(() => new Context(m), (e) => isHearthError(e, 'invalid_argument') && /disposed/.test(e.message));
  assert.throws(() => m.memory(), (e) => isHearthError(e, 'invalid_argument') && /disposed/.test(e.message));
});

test('the model card facts come from the load pass', () => {
  const m = loadModel(STORIES, { backend: 'ref', nCtx: 16 });
  assert.equal(m.file.quantization, 'F32');
  assert.match(m.file.digest, /^[0-9a-f]{64}$/);
  assert.ok(m.file.size > m.file.tensorBytes);
  m.dispose();
});
