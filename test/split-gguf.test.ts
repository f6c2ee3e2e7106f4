// A model split by gguf-split's rules (test/fixtures/split-gguf.ts) loads as the one model it was cut from: the same
// logits bit for bit in this thread and the same greedy tokens in the engine thread, the same memory estimate,
// `hearth info` and library entry; a missing part, parts that disagree with the first, and loading by a later part are refused
// with errors naming the file. stories260K cut into three parts; ~1 s in all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedPath } from './shared.ts';
import { writeSplitGGUF, type SplitOptions } from './fixtures/split-gguf.ts';
import { loadModel } from '../src/engine/load.ts';
import { Context } from '../src/engine/context.ts';
import { estimateModelBytes } from '../src/engine/fit.ts';
import { openModelInfo } from '../src/engine/model-info.ts';
import { EngineHost } from '../src/engine/worker/engine-host.ts';
import { localProvider } from '../src/provider/local-provider.ts';
import { modelInfo } from '../src/cli/commands/info.ts';
import { describeFile } from '../src/library/describe.ts';
import { quantizeModel } from '../src/quant/quantize-model.ts';
import { openGGUF } from '../src/gguf/index.ts';
import { isHearthError } from '../src/util/errors.ts';
import type { NativeRequest } from '../src/api/native.ts';

const STORIES = sharedPath('models', 'stories260K.gguf');
const N_TENSORS = (() => { const f = openGGUF(STORIES); try { return f.tensors.length; } finally { f.close(); } })();
const root = mkdtempSync(join(tmpdir(), 'hearth-split-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

/** stories260K cut into parts in a folder of its own: by default three of about a third of its tensors each. */
function split(o: Partial<SplitOptions> = {}): string[] {
  const d = mkdtempSync(join(root, 'p-'));
  const third = Math.floor(N_TENSORS / 3);
  return writeSplitGGUF(STORIES, d, { prefix: 'stories260K', tensorsPerPart: [third, third, N_TENSORS - 2 * third], ...o });
}

function logits(path: string): Float32Array {
  const m = loadModel(path, { nCtx: 32, backend: 'cpu', threads: 1 });
  try {
    const ctx = new Context(m);
    return ctx.eval(m.tokenizer.encode('Once upon a time, a little'), true).slice();
  } finally {
    m.dispose();
  }
}

const whole = logits(STORIES);

test('a three-part split loads as the whole file: the same logits, bit for bit, at every position', () => {
  const parts = split();
  assert.deepEqual(logits(parts[0]!), whole);
  const a = openModelInfo(STORIES), b = openModelInfo(parts[0]!);
  assert.equal(b.name, 'stories260K', 'named without the part suffix');
  assert.equal(b.paramCount, a.paramCount);
  assert.equal(b.file.tensorBytes, a.file.tensorBytes);
  assert.equal(b.file.quantization, a.file.quantization);
});

test('a first part holding no tensors (gguf-split --no-tensor-first-split) loads too', () => {
  const parts = split({ tensorsPerPart: [0, 7, N_TENSORS - 7] });
  assert.deepEqual(logits(parts[0]!), whole);
});

test('the memory estimate, hearth info and the library entry of a split model count every part', () => {
  const parts = split();
  const a = estimateModelBytes(STORIES, { nCtx: 64 }), b = estimateModelBytes(parts[0]!, { nCtx: 64 });
  assert.equal(b.weights, a.weights);
  assert.equal(b.kv, a.kv);
  const ia = modelInfo(STORIES), ib = modelInfo(parts[0]!);
  assert.deepEqual(ib.parts, parts);
  assert.equal(ib.parameters, ia.parameters);
  assert.deepEqual(ib.tensorTypes, ia.tensorTypes);
  assert.equal(ib.architecture, 'llama');
  // the library's entry (hearth list, /api/tags): one model over every part
  const la = describeFile(STORIES), lb = describeFile(parts[1]!);
  assert.deepEqual([lb.name, lb.path, lb.parts], ['stories260K', parts[0], parts]);
  assert.deepEqual([lb.paramCount, lb.quantization, lb.arch], [la.paramCount, la.quantization, la.arch]);
});

test('quantizing a split model writes one whole file, byte for byte the one quantizing the whole file writes', () => {
  const parts = split();
  const a = join(root, 'whole-q8_0.gguf'), b = join(root, 'split-q8_0.gguf');
  quantizeModel(STORIES, a, 'Q8_0');
  const report = quantizeModel(parts[0]!, b, 'Q8_0');
  assert.equal(report.tensors.length, N_TENSORS);
  assert.ok(readFileSync(b).equals(readFileSync(a)));
  const out = openGGUF(b);
  assert.equal(out.metadata.get('split.count'), undefined);
  out.close();
});

test('a missing part is not_found, naming it', () => {
  const parts = split();
  rmSync(parts[1]!);
  assert.throws(() => loadModel(parts[0]!), (e) => isHearthError(e, 'not_found') && e.message.includes('missing') &&
    e.message.includes('stories260K-00002-of-00003.gguf') && !e.message.includes('00003-of-00003.gguf,'));
  assert.throws(() => estimateModelBytes(parts[0]!), (e) => isHearthError(e, 'not_found'));
});

test('a part whose split.count or split.no disagrees with the first part is model_invalid, naming the part', () => {
  const count = split({ keys: { 2: { 'split.count': 4 } } });
  assert.throws(() => loadModel(count[0]!), (e) => isHearthError(e, 'model_invalid') &&
    e.message.startsWith(count[2]!) && /split\.count 4/.test(e.message) && /should say split\.no 2, split\.count 3/.test(e.message));
  const no = split({ keys: { 1: { 'split.no': 2 } } });
  assert.throws(() => loadModel(no[0]!), (e) => isHearthError(e, 'model_invalid') && e.message.startsWith(no[1]!) && /split\.no 2/.test(e.message));
});

test('a total other than split.tensors.count is model_invalid', () => {
  const parts = split({ keys: { 0: { 'split.tensors.count': N_TENSORS + 1 } } });
  assert.throws(() => loadModel(parts[0]!), (e) => isHearthError(e, 'model_invalid') &&
    e.message.includes(`split.tensors.count is ${N_TENSORS + 1} but its 3 parts hold ${N_TENSORS} tensors`));
});

test('loading by a later part says to load the first', () => {
  const parts = split();
  assert.throws(() => loadModel(parts[1]!), (e) => isHearthError(e, 'invalid_argument') &&
    e.message.includes('is part 2 of a 3-part model; load the first part, stories260K-00001-of-00003.gguf'));
});

test('a first part renamed away from the -00001-of-0000N.gguf pattern says why its parts cannot be found', () => {
  const parts = split();
  const moved = join(parts[0]!, '..', 'stories.gguf');
  renameSync(parts[0]!, moved);
  assert.throws(() => loadModel(moved), (e) => isHearthError(e, 'model_invalid') && /does not end in -00001-of-00003\.gguf/.test(e.message));
});

test('every part is closed after a load, and after a load that fails on a later part', {
  skip: process.platform !== 'linux' && 'counts open files through /proc',
}, () => {
  const fds = () => readdirSync('/proc/self/fd').length;
  const good = split(), bad = split({ keys: { 2: { 'split.count': 4 } } });
  logits(good[0]!); // the first load's modules and wasm are resident from here on
  const before = fds();
  for (let i = 0; i < 3; i++) {
    loadModel(good[0]!, { nCtx: 16 }).dispose();
    estimateModelBytes(good[0]!);
    assert.throws(() => loadModel(bad[0]!), (e) => isHearthError(e, 'model_invalid'));
  }
  assert.equal(fds(), before);
});

test('the engine thread loads a split model and generates the whole file\'s greedy tokens', async () => {
  const parts = split();
  const engine = new EngineHost();
  const request = (tokens: number[]): NativeRequest => ({
    model: 'm', prompts: [{ kind: 'tokens', tokens }], n: 1, maxTokens: 8, sampling: { temperature: 0 }, stop: [], stream: true,
  });
  try {
    const opts = { scheduler: { parallel: 1, queueLimit: 0 }, engine };
    const load = { backend: 'cpu' as const, threads: 1, nCtx: 64 };
    const a = await localProvider({ path: STORIES, load }, opts)();
    const b = await localProvider({ path: parts[0]!, load }, opts)();
    const prompt = [1, 403, 407, 261, 378];
    const [ra] = await (await a.generate(request(prompt))).collect();
    const [rb] = await (await b.generate(request(prompt))).collect();
    assert.equal(ra!.tokens.length, 8);
    assert.deepEqual(rb!.tokens, ra!.tokens);
    await a.close();
    await b.close();
  } finally {
    await engine.close();
  }
});
