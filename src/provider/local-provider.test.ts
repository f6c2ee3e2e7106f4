// LocalProvider runs its model in the engine thread: the calling thread's event loop stays free during a long
// prefill, two models share the engine thread's one kernel thread pool, and an engine thread that goes away
// fails what was running with a clear error while the process lives on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { sharedPath } from '../../test/shared.ts';
import { syntheticModelPath } from '../../test/fixtures/synthetic-model.ts';
import { EngineHost } from '../engine/worker/engine-host.ts';
import { isHearthError } from '../util/errors.ts';
import type { NativeRequest } from '../api/native.ts';
import { localProvider } from './local-provider.ts';

const STORIES = sharedPath('models', 'stories260K.gguf');

const request = (tokens: number[], maxTokens: number): NativeRequest => ({
  model: 'm', prompts: [{ kind: 'tokens', tokens }], n: 1, maxTokens, sampling: { temperature: 0 }, stop: [], stream: true,
});

test('a long prefill runs in the engine thread: the event loop here is never held for a forward pass', async () => {
  const engine = new EngineHost();
  try {
    // One 384-token chunk on the reference backend: a single forward pass of a second or more.
    const path = syntheticModelPath({ nEmbd: 256, nLayer: 4, nHead: 4, nHeadKv: 2, nFF: 768 });
    const p = await localProvider({ path, load: { backend: 'ref', nCtx: 512 } },
      { scheduler: { parallel: 1, queueLimit: 0, prefillChunk: 384 }, engine })();
    const prompt = Array.from({ length: 384 }, (_, i) => 1 + ((i * 7) % 200));
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    const t0 = performance.now();
    const results = await (await p.generate(request(prompt, 2))).collect();
    const total = performance.now() - t0;
    h.disable();
    assert.equal(results[0].tokens.length, 2);
    const maxDelayMs = h.max / 1e6;
    // In-process, the loop would be held for the whole chunk (≈ total); here only for message handling.
    assert.ok(maxDelayMs < total / 2, `event loop held ${maxDelayMs.toFixed(1)} ms of a ${total.toFixed(0)} ms generation`);
    p.close();
  } finally {
    await engine.close();
  }
});

test('two models in one engine thread share its kernel thread pool', {
  skip: process.platform !== 'linux' && 'counts threads through /proc',
}, async () => {
  const engine = new EngineHost();
  const osThreads = () => readdirSync('/proc/self/task').length;
  try {
    const opts = { scheduler: { parallel: 1, queueLimit: 0 }, engine };
    const path = syntheticModelPath({ nEmbd: 256, nLayer: 2, nHead: 4, nHeadKv: 2, nFF: 768, weightType: 'Q8_0' });
    const a = await localProvider({ path, load: { backend: 'cpu', threads: 2, nCtx: 64 } }, { ...opts, alias: 'a' })();
    await (await a.generate(request([1, 2, 3, 4, 5, 6, 7, 8], 4))).collect();
    const first = await engine.threads();
    const afterFirst = osThreads();
    const b = await localProvider({ path: STORIES, load: { backend: 'cpu', threads: 2, nCtx: 64 } }, { ...opts, alias: 'b' })();
    await (await b.generate(request([1, 2, 3, 4, 5, 6, 7, 8], 4))).collect();
    await (await a.generate(request([9, 10, 11], 2))).collect();
    const both = await engine.threads();
    assert.deepEqual(first, { workers: 1, size: 2 }, 'a 2-thread model: the engine thread plus one kernel thread');
    assert.deepEqual(both, first, 'the second model started no kernel thread');
    assert.equal(osThreads(), afterFirst, 'nor any other thread');
    a.close();
    b.close();
  } finally {
    await engine.close();
  }
});

test('when the engine thread goes away, a running stream ends with `unavailable` and a new engine loads again', async () => {
  const engine = new EngineHost();
  const p = await localProvider({ path: STORIES }, { scheduler: { parallel: 1, queueLimit: 0 }, engine })();
  const gen = await p.generate(request([1, 403, 407], 400));
  let deltas = 0;
  await assert.rejects((async () => {
    for await (const ev of gen.events) {
      if (ev.type === 'delta' && ++deltas === 3) void engine.close();
    }
  })(), (e) => isHearthError(e, 'unavailable'));
  assert.ok(deltas >= 3);
  await assert.rejects(p.generate(request([1, 2], 2)), (e) => isHearthError(e, 'unavailable'));
  const fresh = new EngineHost();
  try {
    const q = await localProvider({ path: STORIES }, { scheduler: { parallel: 1, queueLimit: 0 }, engine: fresh })();
    const [r] = await (await q.generate(request([1, 403, 407], 5))).collect();
    assert.equal(r.tokens.length, 5);
    q.close();
  } finally {
    await fresh.close();
  }
});

test('a webgpu model in the engine thread generates what the reference backend generates', async (t) => {
  const { REQUIRE_WEBGPU } = await import('../kernels/webgpu/test-util.ts');
  const { loadModel } = await import('../engine/load.ts');
  const { Context } = await import('../engine/context.ts');
  const { generate } = await import('../engine/generate.ts');
  const engine = new EngineHost();
  try {
    let p;
    try {
      p = await localProvider({ path: STORIES, load: { backend: 'webgpu', nCtx: 128 } }, { scheduler: { parallel: 2, queueLimit: 0 }, engine })();
    } catch (e) {
      if (REQUIRE_WEBGPU || !isHearthError(e, 'backend_unavailable')) throw e;
      return t.skip(`no WebGPU device: ${(e as Error).message}`);
    }
    const prompt = p.tokenize({ kind: 'text', text: 'Once upon a time' });
    const [r] = await (await p.generate(request(prompt, 24))).collect();
    const ref = loadModel(STORIES, { backend: 'ref', nCtx: 128 });
    const want: number[] = [];
    for await (const ev of generate(new Context(ref), { prompt, maxTokens: 24, sampling: { temperature: 0 } })) if (ev.type === 'token') want.push(ev.id);
    assert.deepEqual(r.tokens, want);
    p.close();
  } finally {
    await engine.close();
  }
});
