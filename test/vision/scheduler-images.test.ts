// Images through the scheduler: a model loaded with an mmproj (LoadOptions.mmproj), prompts whose image positions
// hold placeholder ids, several sequences batched together; the greedy tokens are those of the direct path
// (engine/vision/prompt.ts evalChunks, checked against llama.cpp's mtmd in llava-mtmd.test.ts), prefix reuse keeps an
// image only when the pixels are the same, and a text-only model refuses images.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../src/engine/load.ts';
import { Scheduler, type JobEvent, type JobSpec } from '../../src/engine/scheduler.ts';
import { evalChunks, imagePlaceholders } from '../../src/engine/vision/prompt.ts';
import { preprocessImage } from '../../src/engine/vision/preprocess.ts';
import { isHearthError } from '../../src/util/errors.ts';
import { syntheticModelPath } from '../fixtures/synthetic-model.ts';
import { syntheticMmprojPath } from '../fixtures/synthetic-mmproj.ts';

const LM = { nEmbd: 128, nLayer: 2, nHead: 4, nHeadKv: 4, nFF: 256 } as const;
const N = 8;

function image(seed: number) {
  const w = 40 + seed;
  const h = 31;
  return { width: w, height: h, data: new Uint8Array(w * h * 3).map((_, i) => (i * (seed + 3) + (i >> 6) * 7) & 255) };
}

function run(s: Scheduler, specs: JobSpec[]): Promise<{ ids: number[]; done?: Extract<JobEvent, { type: 'done' }>; error?: Error }[]> {
  const out = specs.map(() => ({ ids: [] as number[], done: undefined as Extract<JobEvent, { type: 'done' }> | undefined, error: undefined as Error | undefined }));
  let open = specs.length;
  return new Promise((resolve) => s.submit(specs, (i, ev) => {
    if (ev.type === 'token') out[i].ids.push(ev.id);
    else if (ev.type === 'done' || ev.type === 'error') {
      if (ev.type === 'done') out[i].done = ev; else out[i].error = ev.error;
      if (--open === 0) resolve(out);
    }
  }));
}

test('prompts with images through the scheduler give the direct path\'s greedy tokens; prefix reuse tells images apart', async () => {
  const model = loadModel(syntheticModelPath(LM), { backend: 'cpu', threads: 2, nCtx: 256, mmproj: syntheticMmprojPath({ nEmbdOut: LM.nEmbd }) });
  try {
    const vision = model.vision!;
    const tok = model.tokenizer;
    const before = tok.encode('USER: ', { parseSpecial: true });
    const after = tok.encode('\nWhat is it? ASSISTANT:', { addBos: false, parseSpecial: true });
    const spec = (seed: number): JobSpec => {
      const pixels = preprocessImage(image(seed), vision.preprocess);
      const ids = imagePlaceholders(pixels, vision.nTokens, model.hp.nVocab);
      return { prompt: [...before, ...ids, ...after], images: [{ pos: before.length, pixels }], maxTokens: N, sampling: { temperature: 0 }, stopAtEog: false };
    };
    const direct = async (seed: number) => {
      const s = spec(seed);
      const cache = model.createCache(256);
      const rows = vision.encoder.encode(s.images![0].pixels);
      let logits = await evalChunks(model.forward, cache, [
        { kind: 'tokens', tokens: before }, { kind: 'image', rows, nTokens: vision.nTokens }, { kind: 'tokens', tokens: after }]);
      const ids: number[] = [];
      let pos = s.prompt.length;
      for (let i = 0; i < N; i++) {
        let best = 0;
        for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
        ids.push(best);
        logits = await model.forward.forwardAsync([best], pos++, cache);
      }
      cache.dispose();
      return ids;
    };
    const want = [await direct(1), await direct(2), await direct(3)];
    assert.notDeepEqual(want[0], want[1], 'different images give different answers');
    const s = new Scheduler(model, { parallel: 2, queueLimit: 4 });
    const got = await run(s, [spec(1), spec(2), spec(3)]);
    assert.deepEqual(got.map((g) => g.error?.message), [undefined, undefined, undefined]);
    assert.deepEqual(got.map((g) => g.ids), want);
    // the same image again reuses the cached prompt through it; another image only up to it
    const again = await run(s, [spec(2)]);
    assert.deepEqual(again[0].ids, want[1]);
    assert.ok(again[0].done!.usage.cachedTokens >= before.length + vision.nTokens, `cached ${again[0].done!.usage.cachedTokens}`);
    const other = await run(s, [spec(4)]);
    assert.ok(other[0].done!.usage.cachedTokens <= before.length, `cached ${other[0].done!.usage.cachedTokens} through another image`);
    s.close();
  } finally {
    model.dispose();
  }
});

test('a model without an mmproj refuses a prompt with images', () => {
  const model = loadModel(syntheticModelPath(LM), { backend: 'cpu', threads: 2, nCtx: 128 });
  try {
    const s = new Scheduler(model, { parallel: 1, queueLimit: 1 });
    assert.throws(() => s.submit([{ prompt: [1, 2, 3], images: [{ pos: 0, pixels: new Float32Array(3) }] }], () => {}),
      (e) => isHearthError(e, 'invalid_argument') && /no vision encoder/.test((e as Error).message));
  } finally {
    model.dispose();
  }
});
