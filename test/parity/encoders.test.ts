// Hearth's encoders (src/model/archs/bert.ts, nomic-bert.ts over bert-family.ts) and its embedding and rerank
// jobs (src/engine/embed.ts, rerank.ts) against llama.cpp, on the synthetic encoders of
// test/fixtures/synthetic-families.ts (seeded random F32 weights, the bert-bge WPM vocabulary):
//   bert       bge-small's shape (384 wide, 12 layers, 12 heads, FFN 1536), pooling mean; and 2 layers, pooling cls
//   nomic-bert nomic-embed-text v1.5's widths (768, 12 heads, FFN 3072), 2 layers, NeoX rope, pooling mean
//   bert-rank  bge-small's shape with a classifier head (cls, cls.output), pooling rank
// on the ref and cpu backends (and webgpu for bert when a device is there; HEARTH_REQUIRE_WEBGPU=1 makes a
// missing one fail). llama.cpp runs its embedding / ranking context with flash attention off, K and V in f32
// (test/reference/llama-cpp.ts): Hearth's encoder keeps them f32 too.
//
// Bounds: embeddings cosine >= 0.9999 against llama.cpp's (Hearth's are L2-normalised, llama.cpp's raw; the
// direction is the embedding); measured 1 - cos 1.5e-7 – 1.8e-7 (bert, 12 layers, ref/cpu/webgpu), 5e-10 – 3e-9
// (bert, 2 layers, cls) and 5e-14 – 2e-13 (nomic-bert, SwiGLU: no GELU) on ref and cpu.
// Rank scores are raw logits (here 4.2, 5.8, -0.5, 3.4): within RANK_TOL of llama.cpp's and in the same order;
// measured max |Δ| 1.8e-3 (ref), 2.6e-3 (cpu) after 12 layers, 2.6e-4 after 2. The difference is ggml's f16 GELU
// table: an input that f32 summation noise moves across an f16 rounding boundary changes that GELU output by one
// half-precision step (~5e-4 relative), layer after layer; the single CLS row the head reads carries it (after
// 2 layers its max |Δ| is 2e-4 while the cosine is 1 - 3e-9), the mean over every row averages it away.
// Also: a decoder (stories260K) still embeds (mean pooling when its file names none; pooling 'last' is llama.cpp's
// last-row output, and a copy of the file with llama.pooling_type last pools so by default), several inputs in one batched pass equal each alone, the scheduler runs queued inputs as one
// pass, and LocalProvider.rerank answers through the engine thread.
// Measured: 19-38 s alone on the shared 2-core machine (load average 1-7), most of it llama.cpp model loads.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openGGUF, writeGGUF, GGUFMetadata, type GGUFTensorInput } from '../../src/gguf/index.ts';
import type { GGMLTypeId } from '../../src/gguf/ggml-types.ts';
import { loadModel, type LoadedModel } from '../../src/engine/load.ts';
import { embed, embedMany, encoderInput } from '../../src/engine/embed.ts';
import { rerank, rerankInput } from '../../src/engine/rerank.ts';
import { Scheduler, type StepInfo } from '../../src/engine/scheduler.ts';
import { EngineHost } from '../../src/engine/worker/engine-host.ts';
import { localProvider } from '../../src/provider/local-provider.ts';
import type { BackendName } from '../../src/engine/types.ts';
import { REQUIRE_WEBGPU } from '../../src/kernels/webgpu/test-util.ts';
import { isHearthError } from '../../src/util/errors.ts';
import { sharedPath } from '../shared.ts';
import { syntheticFamilyPath, type FamilyModelOptions } from '../fixtures/synthetic-families.ts';
import { referenceEmbedWithInfo, referenceRankWithInfo, requireReference } from '../reference/client.ts';

const N_CTX = 128;
const MIN_COS = 0.9999;
const RANK_TOL = 1e-2;
const BACKENDS: BackendName[] = ['ref', 'cpu'];
const TEXTS = [
  'hello world',
  'The quick brown fox jumps over the lazy dog.',
  'Embeddings map a text to one vector; similar texts land close together.',
];
const QUERY = 'where is the cat';
const DOCUMENTS = ['the cat sat on the mat', 'hello world', 'a dog runs in the park', 'cats like to sleep on warm mats'];

const loaded: LoadedModel[] = [];
after(() => { for (const m of loaded) m.dispose(); });

function load(path: string, backend: BackendName): LoadedModel {
  const m = loadModel(path, { backend, nCtx: N_CTX });
  loaded.push(m);
  return m;
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, x = 0, y = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    x += a[i] * a[i];
    y += b[i] * b[i];
  }
  return d / Math.sqrt(x * y);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const order = (s: readonly number[]) => s.map((_, i) => i).sort((i, j) => s[j] - s[i]);

interface EmbedCase { name: string; opts: FamilyModelOptions; pooling: 'mean' | 'cls'; webgpu: boolean }
const CASES: EmbedCase[] = [
  { name: 'bert (bge-small shape, 12 layers)', opts: { family: 'bert' }, pooling: 'mean', webgpu: true },
  { name: 'bert (2 layers, cls pooling)', opts: { family: 'bert', nLayer: 2, pooling: 'cls' }, pooling: 'cls', webgpu: false },
  { name: 'nomic-bert (2 layers)', opts: { family: 'nomic-bert' }, pooling: 'mean', webgpu: false },
];

for (const c of CASES) {
  test(`${c.name}: embeddings match llama.cpp (cos >= ${MIN_COS}) on ${BACKENDS.join(', ')}${c.webgpu ? ', webgpu' : ''}`, async (t) => {
    if (!requireReference(t)) return;
    const path = syntheticFamilyPath(c.opts);
    const { info, embeddings } = referenceEmbedWithInfo({ model: path, nCtx: N_CTX }, TEXTS);
    assert.equal(info.poolingType, c.pooling);
    const backends: BackendName[] = [...BACKENDS];
    if (c.webgpu) backends.push('webgpu');
    for (const backend of backends) {
      let m: LoadedModel;
      try {
        m = load(path, backend);
      } catch (e) {
        if (backend !== 'webgpu' || REQUIRE_WEBGPU) throw e;
        t.diagnostic(`webgpu skipped: no WebGPU device (${(e as Error).message.split('\n')[0]})`);
        continue;
      }
      assert.equal(m.forward.model.pooling, c.pooling, 'pooling comes from {arch}.pooling_type');
      const ids = TEXTS.map((s) => m.tokenizer.encode(s));
      // the tokenizer frames text in [CLS] ... [SEP] as llama.cpp's does; bare ids get the same frame
      ids.forEach((t, i) => assert.deepEqual(t, embeddings[i].tokens, `text ${i}: ids`));
      assert.deepEqual(encoderInput(m.tokenizer, ids[0].slice(1, -1)), ids[0]);
      // all inputs in one batched call (the last one given bare: the job frames it)
      const got = embedMany(m, [ids[0], ids[1], ids[2].slice(1, -1)]);
      const worst = Math.max(...got.map((v, i) => 1 - cosine(v, embeddings[i].vector)));
      for (const [i, v] of got.entries()) {
        assert.equal(v.length, m.hp.nEmbd);
        assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5, `input ${i}: not L2-normalised`);
        const cos = cosine(v, embeddings[i].vector);
        assert.ok(cos >= MIN_COS, `${backend} input ${i}: cos ${cos} against llama.cpp`);
      }
      t.diagnostic(`${backend}: worst 1 - cos ${worst.toExponential(2)}`);
    }
  });
}

test(`bert-rank: rerank scores match llama.cpp within ${RANK_TOL}, same order, on ${BACKENDS.join(', ')}`, (t) => {
  if (!requireReference(t)) return;
  const path = syntheticFamilyPath({ family: 'bert-rank' });
  const { info, result } = referenceRankWithInfo({ model: path, nCtx: N_CTX }, QUERY, DOCUMENTS);
  assert.equal(info.poolingType, 'rank');
  for (const backend of BACKENDS) {
    const m = load(path, backend);
    assert.equal(m.forward.model.pooling, 'rank');
    // llama-server's input: [CLS] query [SEP] document (no EOS in a BERT vocabulary), as node-llama-cpp's
    DOCUMENTS.forEach((d, i) => assert.deepEqual(rerankInput(m, QUERY, d), result.tokens[i], `document ${i}: ids`));
    const got = rerank(m, QUERY, DOCUMENTS);
    assert.equal(got.tokens, result.tokens.reduce((s, x) => s + x.length, 0));
    const worst = maxAbsDiff(got.scores, result.scores);
    assert.ok(worst <= RANK_TOL, `${backend}: scores ${got.scores} vs llama.cpp ${result.scores}`);
    assert.deepEqual(order(got.scores), order(result.scores), `${backend}: another order`);
    t.diagnostic(`${backend}: scores ${got.scores.map((s) => s.toFixed(4))}, llama.cpp ${result.scores.map((s) => s.toFixed(4))}, max |Δ| ${worst.toExponential(2)}`);
  }
});

test('a decoder still embeds: stories260K mean-pooled by default, and pooling last is llama.cpp\'s last-row output', (t) => {
  if (!requireReference(t)) return;
  const path = sharedPath('models', 'stories260K.gguf');
  const prompts = ['Once upon a time, there was a little girl.', 'The dog ran to the park and played.'];
  for (const backend of BACKENDS) {
    const m = load(path, backend);
    assert.equal(m.forward.model.pooling, undefined, 'no pooling_type in the file');
    const ids = prompts.map((p) => m.tokenizer.encode(p));
    const { info, embeddings } = referenceEmbedWithInfo({ model: path, nCtx: N_CTX }, ids, { addSpecial: false });
    assert.equal(info.poolingType, 'none');
    // llama.cpp's NONE output is the last token's final normed hidden state: Hearth's 'last' pooling
    const last = embedMany(m, ids, 'last');
    for (const [i, v] of last.entries()) {
      const cos = cosine(v, embeddings[i].vector);
      assert.ok(cos >= MIN_COS, `${backend} prompt ${i}: cos ${cos}`);
    }
    // the default, mean: the normalised mean of every row's final hidden state
    const mean = embedMany(m, ids);
    for (const [i, v] of mean.entries()) {
      const h = m.forward.forwardBatch([{ tokens: ids[i], pos0: 0, cache: m.createCache(ids[i].length) }], true, true);
      const sum = new Float64Array(m.hp.nEmbd);
      for (let r = 0; r < ids[i].length; r++) for (let d = 0; d < sum.length; d++) sum[d] += h[r * sum.length + d];
      assert.ok(cosine(v, sum) > 1 - 1e-9, `${backend} prompt ${i}: not the mean of the hidden states`);
      assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5);
      assert.ok(cosine(v, last[i]) < 0.9999, 'mean and last pooling gave the same vector');
    }
    // a decoder input longer than a step goes chunk by chunk, to the same vector
    const chunked = loadModel(path, { backend, nCtx: N_CTX, nBatch: 4 });
    loaded.push(chunked);
    for (const pooling of ['mean', 'last'] as const) {
      const v = embed(chunked, ids[0], pooling);
      const whole = pooling === 'mean' ? mean[0] : last[0];
      assert.ok(cosine(v, whole) > 1 - 1e-6, `${backend} ${pooling}: chunked differs`);
    }
  }
});

/** stories260K with {arch}.pooling_type written (a last-token embedder, as Qwen3-Embedding files are), cached under tmp. */
function storiesWithPooling(pooling: number): string {
  dir ??= mkdtempSync(join(tmpdir(), 'hearth-encoders-'));
  const out = join(dir, `stories260K-pooling-${pooling}.gguf`);
  const f = openGGUF(sharedPath('models', 'stories260K.gguf'));
  try {
    const md = GGUFMetadata.from([...f.metadata]).u32('llama.pooling_type', pooling);
    const tensors: GGUFTensorInput[] = f.tensors.map((t) => ({
      name: t.name, shape: [...t.shape], type: t.type as GGMLTypeId,
      data: () => { const b = new Uint8Array(t.byteSize); f.readTensorInto(t, b); return b; },
    }));
    writeGGUF(out, { metadata: md, tensors });
  } finally {
    f.close();
  }
  return out;
}
let dir: string | undefined;
after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

test('a decoder file with llama.pooling_type last pools its last row by default, as llama.cpp', (t) => {
  if (!requireReference(t)) return;
  const path = storiesWithPooling(3);
  const m = load(path, 'cpu');
  const ids = m.tokenizer.encode('Once upon a time, there was a little girl.');
  const { info, embeddings } = referenceEmbedWithInfo({ model: path, nCtx: N_CTX }, [ids], { addSpecial: false });
  assert.equal(info.poolingType, 'last');
  const cos = cosine(embed(m, ids), embeddings[0].vector);
  assert.ok(cos >= MIN_COS, `cos ${cos}`);
  t.diagnostic(`1 - cos ${(1 - cos).toExponential(2)}`);
});

test('several inputs in one batched pass equal each input alone (ref exactly, cpu within 1e-6)', () => {
  const path = syntheticFamilyPath({ family: 'bert', nLayer: 2 });
  const texts = ['a', 'hello world', 'The quick brown fox jumps over the lazy dog.', 'one two three four five six seven eight nine ten'];
  for (const backend of BACKENDS) {
    const m = load(path, backend);
    const ids = texts.map((s) => m.tokenizer.encode(s));
    const batched = embedMany(m, ids);
    const alone = ids.map((x) => embed(m, x));
    const worst = Math.max(...batched.map((v, i) => maxAbsDiff(v, alone[i])));
    assert.ok(backend === 'ref' ? worst === 0 : worst < 1e-6, `${backend}: batched differs from alone by ${worst}`);
    assert.ok(maxAbsDiff(alone[0], alone[1]) > 1e-2, 'different inputs gave the same vector');
  }
});

test('the scheduler runs queued embedding inputs as one pass; a model without a head cannot rerank', async () => {
  const m = load(syntheticFamilyPath({ family: 'bert', nLayer: 2 }), 'cpu');
  const s = new Scheduler(m, { parallel: 1, queueLimit: 8 });
  const steps: StepInfo[] = [];
  s.onStep = (info) => steps.push(info);
  const ids = TEXTS.map((x) => m.tokenizer.encode(x));
  const results = await Promise.all(ids.map((x) => new Promise<Float32Array>((resolve, reject) =>
    s.submitEmbedding(x, (r) => (r instanceof Error ? reject(r) : resolve(r))))));
  assert.equal(steps.length, 1, `${steps.length} steps for ${ids.length} inputs`);
  assert.equal(steps[0].sequences, ids.length);
  assert.equal(steps[0].promptTokens, ids.reduce((n, x) => n + x.length, 0));
  results.forEach((v, i) => assert.ok(maxAbsDiff(v, embed(m, ids[i])) < 1e-6));
  assert.throws(() => s.submitEmbedding(ids[0], () => {}, undefined, 'rank'),
    (e) => isHearthError(e, 'invalid_argument') && /no classification head/.test(e.message));
  s.close();
});

test('LocalProvider.rerank and embed through the engine thread', async () => {
  const engine = new EngineHost();
  try {
    const opts = { scheduler: { parallel: 1, queueLimit: 8 }, engine };
    const rankPath = syntheticFamilyPath({ family: 'bert-rank', nLayer: 2 });
    const p = await localProvider({ path: rankPath, load: { backend: 'cpu', nCtx: N_CTX } }, opts)();
    const got = await p.rerank(QUERY, DOCUMENTS);
    const local = rerank(load(rankPath, 'cpu'), QUERY, DOCUMENTS);
    assert.equal(got.tokens, local.tokens);
    assert.ok(maxAbsDiff(got.scores, local.scores) < 1e-6, `${got.scores} vs ${local.scores}`);
    assert.deepEqual(await p.rerank(QUERY, []), { scores: [], tokens: 0 });
    p.close();
    const e = await localProvider({ path: syntheticFamilyPath({ family: 'bert', nLayer: 2 }), load: { backend: 'cpu', nCtx: N_CTX } }, opts)();
    await assert.rejects(e.rerank(QUERY, DOCUMENTS), (err) => isHearthError(err, 'invalid_argument') && /cannot rerank/.test(err.message));
    assert.deepEqual([e.card.capabilities.chat, e.card.capabilities.completion, e.card.capabilities.embeddings], [false, false, true]);
    const request = { model: 'm', prompts: [{ kind: 'text' as const, text: 'hi' }], n: 1, maxTokens: 1, sampling: {}, stop: [], stream: false };
    await assert.rejects(e.generate(request), (err) => isHearthError(err, 'invalid_argument') && /encoder \(bert\)/.test(err.message));
    const steps: StepInfo[] = [];
    e.onStep = (info) => steps.push(info);
    const bare = e.tokenize({ kind: 'text', text: TEXTS[0] }).slice(1, -1);
    const { vectors, tokens } = await e.embed([...TEXTS.map((text) => ({ kind: 'text' as const, text })), { kind: 'tokens', tokens: bare }],
      { truncate: false });
    assert.equal(vectors.length, TEXTS.length + 1);
    assert.equal(tokens, TEXTS.reduce((n, x) => n + e.tokenize({ kind: 'text', text: x }).length, 0) + bare.length + 2, 'bare ids framed in [CLS] ... [SEP]');
    assert.ok(maxAbsDiff(vectors[0], vectors.at(-1)!) < 1e-6, 'bare ids embed as the framed text');
    assert.ok(steps.some((st) => st.sequences === TEXTS.length + 1), `inputs not in one pass: ${JSON.stringify(steps)}`);
    e.close();
  } finally {
    await engine.close();
  }
});
