import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedPath } from '../../test/shared.ts';
import { loadModel } from './load.ts';
import { Context } from './context.ts';
import { generate } from './generate.ts';
import { Scheduler, type JobEvent, type JobSpec } from './scheduler.ts';
import { isHearthError } from '../util/errors.ts';

const model = loadModel(sharedPath('models', 'stories260K.gguf'));
const enc = (s: string) => model.tokenizer.encode(s);

interface Outcome { ids: number[]; text: string; done?: Extract<JobEvent, { type: 'done' }>; error?: Error }

function run(s: Scheduler, specs: JobSpec[]): Promise<Outcome[]> {
  const out: Outcome[] = specs.map(() => ({ ids: [], text: '' }));
  let open = specs.length;
  return new Promise((resolve) => {
    s.submit(specs, (i, ev) => {
      if (ev.type === 'token') { out[i].ids.push(ev.id); out[i].text += ev.text; }
      else if (ev.type === 'text') out[i].text += ev.text;
      else {
        if (ev.type === 'done') out[i].done = ev; else out[i].error = ev.error;
        if (--open === 0) resolve(out);
      }
    });
  });
}

async function reference(spec: JobSpec): Promise<{ ids: number[]; text: string }> {
  const ids: number[] = [];
  let text = '';
  for await (const ev of generate(new Context(model), { prompt: spec.prompt, maxTokens: spec.maxTokens, sampling: spec.sampling, stop: spec.stop })) {
    if (ev.type === 'token') ids.push(ev.id);
    if (ev.type !== 'done') text += ev.text;
  }
  return { ids, text };
}

test('batched sequences produce exactly what generate() produces one at a time', async () => {
  const s = new Scheduler(model, { parallel: 3, queueLimit: 8 });
  const specs: JobSpec[] = [
    { prompt: enc('Once upon a time'), maxTokens: 40, sampling: { temperature: 0 }, stop: [] },
    { prompt: enc('The little dog'), maxTokens: 25, sampling: { temperature: 0.9, seed: 7 }, stop: [] },
    { prompt: enc('Lily and Ben went'), maxTokens: 30, sampling: { temperature: 0 }, stop: ['.'] },
    { prompt: enc('One day, a bird'), maxTokens: 20, sampling: { temperature: 1, seed: 3, topK: 10 }, stop: [] },
    { prompt: enc('Tom'), maxTokens: 12, sampling: { temperature: 0 }, stop: [] },
  ];
  const got = await run(s, specs);
  for (let i = 0; i < specs.length; i++) {
    const want = await reference(specs[i]);
    assert.deepEqual(got[i].ids, want.ids, `sequence ${i}`);
    assert.equal(got[i].text, want.text, `sequence ${i}`);
    assert.equal(got[i].done!.usage.completionTokens, want.ids.length);
    assert.equal(got[i].done!.usage.promptTokens, specs[i].prompt.length);
  }
  assert.equal(got[2].done!.reason, 'stop');
  assert.equal(got[2].done!.stopSequence, '.');
  assert.equal(got[0].done!.reason, 'length');
  assert.deepEqual(s.stats, { slots: 3, busy: 0, queued: 0 });
});

test('a new request takes the free slot with the longest common prefix and reuses its cache', async () => {
  const s = new Scheduler(model, { parallel: 3, queueLimit: 0 });
  const a = enc('Once upon a time there was a girl');
  const b = enc('The sun was hot and the');
  await run(s, [{ prompt: a, maxTokens: 4, sampling: { temperature: 0 }, stop: [] }]);
  await run(s, [{ prompt: b, maxTokens: 4, sampling: { temperature: 0 }, stop: [] }]);
  const [o] = await run(s, [{ prompt: [...a, ...enc(' named')].slice(0, a.length + 2), maxTokens: 4, sampling: { temperature: 0 }, stop: [] }]);
  assert.equal(o.done!.usage.cachedTokens, a.length);
  const want = await reference({ prompt: [...a, ...enc(' named')].slice(0, a.length + 2), maxTokens: 4, sampling: { temperature: 0 }, stop: [] });
  assert.deepEqual(o.ids, want.ids);
  const [o2] = await run(s, [{ prompt: b, maxTokens: 4, sampling: { temperature: 0 }, stop: [] }]);
  assert.equal(o2.done!.usage.cachedTokens, b.length - 1);
});

test('queue_full when slots and queue are taken; the refused request leaves nothing behind', async () => {
  const s = new Scheduler(model, { parallel: 1, queueLimit: 1 });
  const long = { prompt: enc('Once'), maxTokens: 30, sampling: { temperature: 0 }, stop: [] };
  const first = run(s, [long, long]);
  assert.throws(() => s.submit([long], () => {}), (e) => isHearthError(e, 'queue_full'));
  assert.deepEqual(s.stats, { slots: 1, busy: 0, queued: 2 });
  const res = await first;
  assert.equal(res[1].done!.usage.completionTokens, 30);
});

test('abort frees the slot within one step; timeouts fail with code timeout', async () => {
  const s = new Scheduler(model, { parallel: 1, queueLimit: 4 });
  const ac = new AbortController();
  let steps = 0;
  let abortedAt = -1;
  let freedAfter = -1;
  s.onStep = () => {
    steps++;
    if (abortedAt >= 0 && freedAfter < 0 && s.stats.queued === 0) freedAfter = steps - abortedAt;
  };
  const out = run(s, [{ prompt: enc('Once upon'), maxTokens: 500, sampling: { temperature: 0 }, stop: [], signal: ac.signal }]);
  const waiter = run(s, [{ prompt: enc('The'), maxTokens: 3, sampling: { temperature: 0 }, stop: [] }]);
  while (steps < 5) await new Promise((r) => setImmediate(r));
  ac.abort();
  abortedAt = steps;
  const [o] = await out;
  assert.ok(isHearthError(o.error, 'aborted'));
  assert.ok(o.ids.length < 10);
  const [w] = await waiter;
  assert.equal(w.done!.usage.completionTokens, 3);
  // the waiting request got the slot in the first step after the abort
  assert.equal(freedAfter, 1);

  const t = new Scheduler(model, { parallel: 1, queueLimit: 1, timeoutMs: 5 });
  const [slow] = await run(t, [{ prompt: enc('Once'), maxTokens: 100000, sampling: { temperature: 1, seed: 1, topK: 0, minP: 0, topP: 1 }, stop: [] }]);
  assert.ok(isHearthError(slow.error, 'timeout'), String(slow.error));
});

test('checks run at submit: prompt longer than the window, bad sampling, empty prompt', () => {
  const s = new Scheduler(model, { parallel: 1, queueLimit: 1 });
  const long = Array.from({ length: model.nCtx }, () => 5);
  assert.throws(() => s.submit([{ prompt: long, sampling: {}, stop: [] }], () => {}), (e) => isHearthError(e, 'context_length_exceeded'));
  assert.throws(() => s.submit([{ prompt: [1, 2], nCtx: 2, sampling: {}, stop: [] }], () => {}), (e) => isHearthError(e, 'context_length_exceeded'));
  assert.throws(() => s.submit([{ prompt: [1], sampling: { topP: 2 }, stop: [] }], () => {}), /topP/);
  assert.throws(() => s.submit([{ prompt: [], sampling: {}, stop: [] }], () => {}), /empty/);
  assert.throws(() => new Scheduler(model, { parallel: 0, queueLimit: 1 }), /parallel/);
  assert.deepEqual(s.stats.queued, 0);
});

test('next to a decoding stream a long prompt goes in time-sized chunks, and the tokens stay those of generate()', async () => {
  const long = Array.from({ length: 300 }, (_, i) => enc('Once upon a time there was a little girl named Lily.')[i % 14]);
  const specs: JobSpec[] = [
    { prompt: enc('The dog'), maxTokens: 60, sampling: { temperature: 0 }, stop: [] },
    { prompt: long, maxTokens: 5, sampling: { temperature: 0 }, stop: [] },
  ];
  // A tiny budget: after the first (unmeasured) chunk, one prompt token per step while the stream decodes.
  const s = new Scheduler(model, { parallel: 2, queueLimit: 0, chunkMs: 1e-6 });
  const steps: { sequences: number; promptTokens: number }[] = [];
  s.onStep = (info) => steps.push(info);
  const first = run(s, [specs[0]]);
  while (steps.length < 3) await new Promise((r) => setImmediate(r));
  const [b] = await run(s, [specs[1]]);
  const [a] = await first;
  // steps where the long prompt ran next to the decoding stream
  const mixed = steps.filter((st) => st.sequences === 2 && st.promptTokens > 0).map((st) => st.promptTokens);
  assert.ok(mixed.length > 10);
  assert.ok(mixed[0] <= 16, `first chunk ${mixed[0]}`);
  assert.ok(mixed.slice(1).every((p) => p === 1), `chunks ${mixed.join(',')}`);
  assert.deepEqual(a.ids, (await reference(specs[0])).ids);
  assert.deepEqual(b.ids, (await reference(specs[1])).ids);

  // Alone, a prompt goes in prefillChunk-token chunks whatever chunkMs says.
  const t = new Scheduler(model, { parallel: 1, queueLimit: 0, chunkMs: 1e-6, prefillChunk: 128 });
  const alone: number[] = [];
  t.onStep = (info) => alone.push(info.promptTokens);
  await run(t, [specs[1]]);
  assert.deepEqual(alone.filter((p) => p > 0), [128, 128, 44]);
});

test('embeddings are scheduler jobs: the same vector as embed(), while a stream decodes', async () => {
  const { embed } = await import('./embed.ts');
  const s = new Scheduler(model, { parallel: 1, queueLimit: 2, prefillChunk: 7 });
  const stream = run(s, [{ prompt: enc('Once'), maxTokens: 30, sampling: { temperature: 0 }, stop: [] }]);
  const ids = enc('Lily and Ben went to the park to play with a ball');
  const got = await new Promise<Float32Array | Error>((resolve) => s.submitEmbedding(ids, resolve));
  assert.deepEqual(got, embed(model, ids));
  const [o] = await stream;
  assert.equal(o.done!.usage.completionTokens, 30);
  const ac = new AbortController();
  ac.abort();
  const aborted = await new Promise<Float32Array | Error>((resolve) => s.submitEmbedding(ids, resolve, ac.signal));
  assert.ok(isHearthError(aborted, 'aborted'));
  assert.throws(() => s.submitEmbedding([], () => {}), /empty/);
  assert.equal(s.embeddings, 0);
});
