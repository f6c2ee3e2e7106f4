// llama.cpp reference embeddings and rank scores, on tiny synthetic BERT models written here: 64 wide,
// 2 layers, 4 heads, FFN 128, 64 positions, F32 seeded random weights, the bert-bge WPM vocabulary.
// Skips when test/reference is not installed (npm run reference:install), fails if HEARTH_REQUIRE_REFERENCE=1.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGGUF, writeGGUF, GGUFMetadata, type GGUFTensorInput } from '../../src/gguf/index.ts';
import { GGMLType } from '../../src/gguf/ggml-types.ts';
import { sharedPath } from '../shared.ts';
import { hashString, SeededRandom } from '../fixtures/seeded-random.ts';
import {
  referenceEmbed, referenceEmbedWithInfo, referenceRankWithInfo, requireReference, runReference,
  type ReferencePoolingType,
} from './client.ts';

// ---- the tiny BERT writer ---------------------------------------------------------------------------

interface TinyBert {
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nFF: number;
  nCtxTrain: number;
  /** Written as bert.pooling_type (llama_pooling_type). */
  pooling: ReferencePoolingType;
  /** Add the classifier head (cls, cls.output) and one output label, as a BertForSequenceClassification. */
  classifier: boolean;
  seed: number;
}

const TINY: Omit<TinyBert, 'pooling' | 'classifier'> = { nEmbd: 64, nLayer: 2, nHead: 4, nFF: 128, nCtxTrain: 64, seed: 7 };
const POOLING_ID: Record<ReferencePoolingType, number> = { none: 0, mean: 1, cls: 2, last: 3, rank: 4 };

let bgeVocab: GGUFMetadata | undefined;

/** The tokenizer.ggml.* keys of the bert-bge vocabulary (30522 WPM tokens, 2 token types). */
function bertVocab(): GGUFMetadata {
  if (bgeVocab) return bgeVocab;
  const f = openGGUF(sharedPath('vocab', 'ggml-vocab-bert-bge.gguf'));
  try {
    bgeVocab = GGUFMetadata.from([...f.metadata].filter(([k]) => k.startsWith('tokenizer.ggml.')));
  } finally {
    f.close();
  }
  return bgeVocab;
}

/**
 * Keys in the order convert_hf_to_gguf.py's BertModel writes them (TextModel.set_gguf_parameters, then
 * causal = false, pooling type, classifier labels, then the vocabulary). The converter itself writes only
 * MEAN/CLS/LAST pooling for BERT (from sentence-transformers' modules.json); a reranker GGUF carries
 * RANK (4) when written by hand, and node-llama-cpp's ranking context forces RANK either way.
 */
function tinyBertMetadata(o: TinyBert): GGUFMetadata {
  const md = new GGUFMetadata()
    .string('general.architecture', 'bert')
    .string('general.name', `tiny-bert-${o.pooling}`)
    .u32('bert.block_count', o.nLayer)
    .u32('bert.context_length', o.nCtxTrain)
    .u32('bert.embedding_length', o.nEmbd)
    .u32('bert.feed_forward_length', o.nFF)
    .u32('bert.attention.head_count', o.nHead)
    .f32('bert.attention.layer_norm_epsilon', 1e-12)
    .u32('general.file_type', 0)
    .bool('bert.attention.causal', false)
    .u32('bert.pooling_type', POOLING_ID[o.pooling]);
  // BertForSequenceClassification with one label: llama.cpp's n_cls_out = 1 (also its default).
  if (o.classifier) md.strings('bert.classifier.output_labels', ['LABEL_0']);
  for (const [k, v] of bertVocab()) md.set(k, v);
  return md;
}

interface Plan { name: string; shape: number[]; std: number; mean?: number }

/**
 * Tensors as llama.cpp's llama_model_bert::load_arch_tensors creates them (ggml shapes, row length first).
 * Embeddings N(0, 1), projections N(0, 1/fan_in) so attention scores and FFN inputs stay O(1) (every
 * sub-layer ends in a LayerNorm anyway), LayerNorm weights 1 + N(0, 0.1²), biases N(0, 0.1²).
 */
function tinyBertPlans(o: TinyBert, nVocab: number, nTokenTypes: number): Plan[] {
  const e = o.nEmbd;
  const inStd = 1 / Math.sqrt(e);
  const plans: Plan[] = [
    { name: 'token_embd.weight', shape: [e, nVocab], std: 1 },
    { name: 'token_types.weight', shape: [e, nTokenTypes], std: 1 },
    { name: 'position_embd.weight', shape: [e, o.nCtxTrain], std: 1 },
    { name: 'token_embd_norm.weight', shape: [e], std: 0.1, mean: 1 },
    { name: 'token_embd_norm.bias', shape: [e], std: 0.1 },
  ];
  for (let il = 0; il < o.nLayer; il++) {
    const p = (n: string, shape: number[], std: number, mean = 0) => plans.push({ name: `blk.${il}.${n}`, shape, std, mean });
    for (const w of ['attn_q', 'attn_k', 'attn_v', 'attn_output']) {
      p(`${w}.weight`, [e, e], inStd);
      p(`${w}.bias`, [e], 0.1);
    }
    p('attn_output_norm.weight', [e], 0.1, 1);
    p('attn_output_norm.bias', [e], 0.1);
    p('ffn_up.weight', [e, o.nFF], inStd);
    p('ffn_up.bias', [o.nFF], 0.1);
    p('ffn_down.weight', [o.nFF, e], 1 / Math.sqrt(o.nFF));
    p('ffn_down.bias', [e], 0.1);
    p('layer_output_norm.weight', [e], 0.1, 1);
    p('layer_output_norm.bias', [e], 0.1);
  }
  if (o.classifier) {
    // RANK pooling: cls_out(tanh(cls(h[CLS]))); cls_out's std puts the logit's spread near 1.
    plans.push(
      { name: 'cls.weight', shape: [e, e], std: inStd },
      { name: 'cls.bias', shape: [e], std: 0.1 },
      { name: 'cls.output.weight', shape: [e, 1], std: 2 / Math.sqrt(e) },
      { name: 'cls.output.bias', shape: [1], std: 0.1 },
    );
  }
  return plans;
}

/** The f32 values of one tensor: a pure function of (seed, name, shape, scale). */
function tensorValues(seed: number, t: Plan): Float32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  return new SeededRandom(hashString(t.name, seed)).fillNormal(new Float32Array(n), t.std, t.mean ?? 0);
}

function writeTinyBert(path: string, o: TinyBert): string {
  const vocab = bertVocab();
  const nVocab = vocab.getStrings('tokenizer.ggml.tokens').length;
  const nTokenTypes = vocab.getNumber('tokenizer.ggml.token_type_count');
  const tensors: GGUFTensorInput[] = tinyBertPlans(o, nVocab, nTokenTypes).map((t) => ({
    name: t.name,
    shape: t.shape,
    type: GGMLType.F32,
    data: () => new Uint8Array(tensorValues(o.seed, t).buffer),
  }));
  writeGGUF(path, { metadata: tinyBertMetadata(o), tensors });
  return path;
}

let dir: string | undefined;
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every model shares one set of weights (same seed, same tensor names); only the pooling key differs. */
function tinyBertPath(pooling: ReferencePoolingType, classifier = false): string {
  dir ??= mkdtempSync(join(tmpdir(), 'hearth-tiny-bert-'));
  return writeTinyBert(join(dir, `tiny-bert-${pooling}${classifier ? '-cls-head' : ''}.gguf`), { ...TINY, pooling, classifier });
}

// ---- the tests ----------------------------------------------------------------------------------------

const CLS = 101;
const SEP = 102;
// WPM ids of the bert-bge vocabulary: "hello", "world", "the", "cat".
const HELLO_WORLD = [CLS, 7592, 2088, SEP];
const THE_CAT = [CLS, 1996, 4937, SEP];

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const pooling of ['mean', 'cls'] as const) {
  test(`llama.cpp reference: tiny BERT embeddings (${pooling} pooling)`, (t) => {
    if (!requireReference(t)) return;
    const model = tinyBertPath(pooling);
    const inputs = [HELLO_WORLD, THE_CAT, HELLO_WORLD, 'hello world', HELLO_WORLD.slice(1, -1)];
    const { info, embeddings } = referenceEmbedWithInfo({ model, nCtx: 64 }, inputs);
    const [hw, cat, hwAgain, hwText, hwBare] = embeddings;

    assert.equal(info.context, 'embedding');
    assert.equal(info.poolingType, pooling);
    assert.equal(info.nCtx, 64);
    assert.equal(info.bos, CLS, 'WPM BOS is [CLS]');
    assert.equal(info.sep, SEP);
    for (const [i, e] of embeddings.entries()) {
      assert.equal(e.vector.length, TINY.nEmbd, `input ${i}: vector length`);
      assert.ok(e.vector.every(Number.isFinite), `input ${i}: non-finite value`);
    }
    // Unnormalised: llama.cpp's pooled hidden state, LayerNorm-scaled, not a unit vector.
    const norm = Math.hypot(...hw.vector);
    assert.ok(Math.abs(norm - 1) > 0.1, `embedding looks L2-normalised (|v| = ${norm})`);

    assert.deepEqual(hw.tokens, HELLO_WORLD, 'ids that already carry [CLS] ... [SEP] are evaluated as given');
    assert.ok(maxAbsDiff(hw.vector, cat.vector) > 1e-2, 'different inputs gave the same vector');
    assert.deepEqual(hwAgain.vector, hw.vector, 'the same input gave a different vector');
    // Text is tokenized without special tokens, then node-llama-cpp adds [CLS] and [SEP] itself.
    assert.deepEqual(hwText.tokens, HELLO_WORLD);
    assert.ok(maxAbsDiff(hwText.vector, hw.vector) < 1e-6);
    assert.deepEqual(hwBare.tokens, HELLO_WORLD, 'node-llama-cpp adds [CLS] and [SEP] to bare ids');
    assert.ok(maxAbsDiff(hwBare.vector, hw.vector) < 1e-6);

    // addSpecial: false evaluates exactly the ids (internal path): the same as the public one when the ids
    // are complete, and different without [CLS]/[SEP].
    const exact = referenceEmbedWithInfo({ model, nCtx: 64 }, [HELLO_WORLD, HELLO_WORLD.slice(1, -1)], { addSpecial: false });
    assert.deepEqual(exact.embeddings[0].tokens, HELLO_WORLD);
    assert.ok(maxAbsDiff(exact.embeddings[0].vector, hw.vector) < 1e-6, 'internal and public paths differ');
    assert.deepEqual(exact.embeddings[1].tokens, HELLO_WORLD.slice(1, -1));
    assert.ok(maxAbsDiff(exact.embeddings[1].vector, hw.vector) > 1e-2, 'addSpecial: false still added tokens');
    t.diagnostic(`llama.cpp ${info.llamaCpp}: |v| = ${norm.toFixed(3)}, v[0..3] = ${[...hw.vector.slice(0, 4)].map((x) => x.toFixed(4))}`);
  });
}

test('llama.cpp reference: tiny BERT reranker scores', (t) => {
  if (!requireReference(t)) return;
  const model = tinyBertPath('rank', true);
  const documents = ['the cat sat on the mat', 'hello world', 'a dog in the park'];
  const { info, result } = referenceRankWithInfo({ model, nCtx: 64 }, 'where is the cat', documents);

  assert.equal(info.context, 'ranking');
  assert.equal(info.poolingType, 'rank');
  assert.equal(result.scores.length, documents.length);
  assert.equal(result.probabilities.length, documents.length);
  assert.ok(result.scores.every(Number.isFinite), `non-finite score in ${result.scores}`);
  // Raw logits: node-llama-cpp's answer is their sigmoid.
  for (const [i, s] of result.scores.entries()) {
    assert.ok(Math.abs(1 / (1 + Math.exp(-s)) - result.probabilities[i]) < 1e-9, `document ${i}: sigmoid(score) != probability`);
  }
  assert.ok(new Set(result.scores).size === documents.length, `documents scored alike: ${result.scores}`);
  // [CLS] query [SEP] document: no trailing [SEP], since the BERT vocabulary has no EOS.
  for (const [i, ids] of result.tokens.entries()) {
    assert.equal(ids[0], CLS, `document ${i}: input does not start with [CLS]`);
    assert.equal(ids.filter((id) => id === SEP).length, 1, `document ${i}: expected one [SEP] between query and document`);
    assert.notEqual(ids.at(-1), SEP);
  }
  assert.deepEqual(result.tokens[1].slice(-2), [7592, 2088], '"hello world" is the second document');

  // The score is the classifier head on the [CLS] row, no sigmoid: recompute it from the CLS-pooled
  // embedding of the same ids (the cls-pooling model has the same backbone weights) and the seeded head.
  const hCls = referenceEmbed({ model: tinyBertPath('cls'), nCtx: 64 }, result.tokens, { addSpecial: false });
  const head = new Map(tinyBertPlans({ ...TINY, pooling: 'rank', classifier: true }, 0, 0)
    .filter((p) => p.name.startsWith('cls.')).map((p) => [p.name, tensorValues(TINY.seed, p)]));
  const e = TINY.nEmbd;
  for (const [i, h] of hCls.entries()) {
    let score = head.get('cls.output.bias')![0];
    for (let r = 0; r < e; r++) {
      let z = head.get('cls.bias')![r];
      for (let c = 0; c < e; c++) z += head.get('cls.weight')![r * e + c] * h[c];
      score += head.get('cls.output.weight')![r] * Math.tanh(z);
    }
    assert.ok(Math.abs(score - result.scores[i]) < 1e-4, `document ${i}: head on [CLS] row gives ${score}, llama.cpp ${result.scores[i]}`);
  }
  t.diagnostic(`scores ${result.scores.map((s) => s.toFixed(4))}; tokens[0] ${JSON.stringify(result.tokens[0])}`);
});

test('llama.cpp reference: bert.pooling_type decides the pooling over the same weights', (t) => {
  if (!requireReference(t)) return;
  const vec = (pooling: ReferencePoolingType) => referenceEmbed({ model: tinyBertPath(pooling), nCtx: 64 }, [HELLO_WORLD])[0];
  const [none, last, cls, mean] = (['none', 'last', 'cls', 'mean'] as const).map(vec);
  // NONE returns the last token's row (llama_get_embeddings_ith(-1)); LAST pools exactly that row.
  assert.ok(maxAbsDiff(none, last) < 1e-6, `none and last pooling differ by ${maxAbsDiff(none, last)}`);
  assert.ok(maxAbsDiff(cls, last) > 1e-2, 'cls pooling gave the last row');
  assert.ok(maxAbsDiff(mean, cls) > 1e-2 && maxAbsDiff(mean, last) > 1e-2, 'mean pooling gave a single row');
});

test('llama.cpp reference: embed and rank refuse the wrong context or model', (t) => {
  if (!requireReference(t)) return;
  assert.throws(
    () => referenceRankWithInfo({ model: tinyBertPath('cls'), nCtx: 64 }, 'q', ['d']),
    /llama\.cpp reference failed: .*not supported/s,
    'a model without a classifier head cannot rank',
  );
  assert.throws(
    () => runReference({ model: tinyBertPath('rank', true), context: 'ranking', nCtx: 64, ops: [{ op: 'embed', tokens: HELLO_WORLD }] }),
    /embed needs context: 'embedding'/,
  );
  assert.throws(
    () => referenceEmbed({ model: tinyBertPath('cls'), nCtx: 64, nBatch: 2 }, [HELLO_WORLD]),
    /exceeds nBatch=2/,
  );
});
