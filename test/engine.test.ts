// The engine on a real model file: context limits, prefix reuse, batched vs one-by-one evaluation, load errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { sharedPath } from './shared.ts';
import { loadModel } from '../src/engine/load.ts';
import { Context } from '../src/engine/context.ts';
import { generate } from '../src/engine/generate.ts';
import { openGGUF, writeGGUF, GGUFMetadata } from '../src/gguf/index.ts';
import { isHearthError } from '../src/util/errors.ts';

const STORIES = sharedPath('models', 'stories260K.gguf');
const model = loadModel(STORIES, { nCtx: 64 });

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('hyper-parameters come from the metadata', () => {
  const hp = model.hp;
  assert.deepEqual([hp.nLayer, hp.nEmbd, hp.nHead, hp.nHeadKv, hp.headDim, hp.nFF, hp.nVocab], [5, 64, 8, 4, 8, 172, 512]);
  assert.equal(hp.rope.freqBase, 10000);
  assert.equal(model.nCtx, 64);
  assert.equal(model.paramCount, 292_800);
});

test('a batched prompt gives the same logits as feeding tokens one by one', () => {
  const tokens = model.tokenizer.encode('Once upon a time there was');
  const a = new Context(model).eval(tokens, true);
  const ctx = new Context(model);
  const nVocab = model.hp.nVocab;
  for (let i = 0; i < tokens.length; i++) {
    const one = ctx.eval([tokens[i]]);
    assert.ok(maxAbsDiff(one, a.subarray(i * nVocab, (i + 1) * nVocab)) < 1e-4, `position ${i}`);
  }
});

test('a follow-up prompt reuses the cached prefix and gives the same logits as a fresh context', async () => {
  const first = model.tokenizer.encode('Once upon a time');
  const second = model.tokenizer.encode('Once upon a time there was a cat');
  const ctx = new Context(model);
  for await (const _ of generate(ctx, { prompt: first, maxTokens: 3, sampling: { temperature: 0 } }));
  const reusedFrom = ctx.nPast;
  assert.ok(reusedFrom >= first.length);
  const ids: number[] = [];
  for await (const ev of generate(ctx, { prompt: second, maxTokens: 5, sampling: { temperature: 0 } })) if (ev.type === 'token') ids.push(ev.id);
  const fresh: number[] = [];
  for await (const ev of generate(new Context(model), { prompt: second, maxTokens: 5, sampling: { temperature: 0 } })) if (ev.type === 'token') fresh.push(ev.id);
  assert.deepEqual(ids, fresh);
});

test('a prompt longer than the context is refused with context_length_exceeded', async () => {
  const long = Array.from({ length: 80 }, () => 300);
  const run = async () => { for await (const _ of generate(new Context(model), { prompt: long, maxTokens: 1 })); };
  await assert.rejects(run, (e) => isHearthError(e, 'context_length_exceeded') && /80 tokens; the context holds 64/.test(e.message));
});

test('generation stops at max tokens, then at the end of the context', async () => {
  const prompt = model.tokenizer.encode('Once');
  const events = [];
  for await (const ev of generate(new Context(model), { prompt, maxTokens: 200, sampling: { temperature: 0 }, stopAtEog: false })) events.push(ev);
  const done = events.at(-1);
  assert.ok(done?.type === 'done');
  assert.equal(done.reason, 'length');
  assert.equal(done.usage.completionTokens, 64 - prompt.length);
});

test('the same seed gives the same text; another seed gives another', async () => {
  const prompt = model.tokenizer.encode('Once upon a time');
  const sample = async (seed: number) => {
    const ids: number[] = [];
    for await (const ev of generate(new Context(model), { prompt, maxTokens: 30, sampling: { temperature: 1, seed } })) if (ev.type === 'token') ids.push(ev.id);
    return ids.join(' ');
  };
  assert.equal(await sample(42), await sample(42));
  assert.notEqual(await sample(42), await sample(43));
});

test('an abort signal stops generation', async () => {
  const ac = new AbortController();
  const prompt = model.tokenizer.encode('Once');
  let n = 0;
  await assert.rejects(async () => {
    for await (const ev of generate(new Context(model), { prompt, maxTokens: 50 }, ac.signal)) {
      if (ev.type === 'token' && ++n === 3) ac.abort();
    }
  }, { name: 'AbortError' });
  assert.equal(n, 3);
});

test('missing tensors, wrong shapes and unknown architectures get model errors naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-engine-'));
  const src = openGGUF(STORIES);
  const rewrite = (name: string, edit: (md: GGUFMetadata, tensors: { name: string; shape: readonly number[]; type: number; data: Uint8Array }[]) => void) => {
    const md = GGUFMetadata.from(src.metadata);
    const tensors = src.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.type, data: src.readTensor(t) }));
    edit(md, tensors);
    const path = join(dir, name);
    writeGGUF(path, { metadata: md, tensors });
    return path;
  };
  const noNorm = rewrite('no-norm.gguf', (_, ts) => ts.splice(ts.findIndex((t) => t.name === 'blk.2.ffn_norm.weight'), 1));
  assert.throws(() => loadModel(noNorm), (e) => isHearthError(e, 'model_invalid') && /blk\.2\.ffn_norm\.weight is missing/.test(e.message) && e.message.includes(noNorm));
  const badShape = rewrite('bad-shape.gguf', (md) => md.u32('llama.feed_forward_length', 176));
  assert.throws(() => loadModel(badShape), (e) => isHearthError(e, 'model_invalid') && /ffn_gate\.weight has shape \[64, 172\], expected \[64, 176\]/.test(e.message));
  const badArch = rewrite('bad-arch.gguf', (md) => md.string('general.architecture', 'mamba9'));
  assert.throws(() => loadModel(badArch), (e) => isHearthError(e, 'unsupported_architecture') && /mamba9/.test(e.message));
  src.close();
});

test('sequences batched into one forward pass get the logits they get alone', async () => {
  const { evalBatch } = await import('../src/engine/context.ts');
  const a = model.tokenizer.encode('Once upon a time');
  const b = model.tokenizer.encode('The little dog ran');
  const ca = new Context(model);
  const cb = new Context(model);
  ca.eval(a.slice(0, 2));
  const [la, lb] = evalBatch([{ ctx: ca, tokens: a.slice(2) }, { ctx: cb, tokens: b }]);
  assert.ok(maxAbsDiff(la, new Context(model).eval(a)) < 1e-4);
  assert.ok(maxAbsDiff(lb, new Context(model).eval(b)) < 1e-4);
  assert.equal(ca.nPast, a.length);
  const [la2, lb2] = evalBatch([{ ctx: ca, tokens: [400] }, { ctx: cb, tokens: [401] }]);
  assert.ok(maxAbsDiff(la2, new Context(model).eval([...a, 400])) < 1e-4);
  assert.ok(maxAbsDiff(lb2, new Context(model).eval([...b, 401])) < 1e-4);
});

test('embeddings are unit length, model-wide, and deterministic', async () => {
  const { embed } = await import('../src/engine/embed.ts');
  const e = (s: string) => embed(model, model.tokenizer.encode(s));
  const a = e('The cat sat on the mat.');
  const norm = Math.hypot(...a);
  assert.ok(Math.abs(norm - 1) < 1e-5);
  assert.deepEqual(e('The cat sat on the mat.'), a);
  assert.equal(a.length, 64);
  assert.throws(() => embed(model, []), (err) => isHearthError(err, 'invalid_argument'));
});
