// Reading the real GGUF files in ../shared: known values from DATA.md, tensor layout, tensor bytes
// checked against the raw file, and the file-descriptor reader against the in-memory one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sharedPath } from '../../test/shared.ts';
import { isHearthError } from '../util/errors.ts';
import { openGGUF, parseGGUF, GGUFValueType as V, GGMLType, type GGUFFile } from './index.ts';

const TOKENS = 'tokenizer.ggml.tokens';

function withFile<R>(path: string, fn: (f: GGUFFile) => R): R {
  const f = openGGUF(path);
  try {
    return fn(f);
  } finally {
    f.close();
  }
}

/** Tensors must tile the data section: aligned, in bounds, not overlapping. */
function checkLayout(f: GGUFFile): void {
  let end = f.dataOffset;
  const sorted = [...f.tensors].sort((a, b) => a.offset - b.offset);
  for (const t of sorted) {
    assert.ok(t.offset >= end, `${t.name} overlaps its predecessor`);
    assert.equal((t.offset - f.dataOffset) % f.alignment, 0, `${t.name} misaligned`);
    assert.equal(t.nElements, t.shape.reduce((a, b) => a * b, 1));
    end = t.offset + t.byteSize;
  }
  assert.ok(end <= f.size);
}

test('stories260K: metadata and 48 F32 tensors as DATA.md describes', () => {
  withFile(sharedPath('models', 'stories260K.gguf'), (f) => {
    const m = f.metadata;
    assert.equal(f.version, 3);
    assert.equal(f.size, 1185376);
    assert.equal(f.alignment, 32);
    assert.equal(m.getString('general.architecture'), 'llama');
    assert.equal(m.getNumber('llama.block_count'), 5);
    assert.equal(m.getNumber('llama.embedding_length'), 64);
    assert.equal(m.getNumber('llama.attention.head_count'), 8);
    assert.equal(m.getNumber('llama.attention.head_count_kv'), 4);
    assert.equal(m.getNumber('llama.feed_forward_length'), 172);
    assert.equal(m.getNumber('llama.rope.dimension_count'), 8);
    assert.equal(m.getNumber('llama.context_length'), 2048);
    assert.equal(m.get('llama.context_length')?.type, V.UINT32);
    assert.equal(m.get('llama.attention.layer_norm_rms_epsilon')?.type, V.FLOAT32);
    assert.equal(m.getNumber('llama.attention.layer_norm_rms_epsilon'), Math.fround(1e-5));
    assert.equal(m.getNumber('llama.rope.freq_base', undefined), undefined);
    assert.equal(m.has('general.file_type'), false);
    assert.equal(m.getString('tokenizer.ggml.model'), 'llama');
    assert.equal(m.getNumber('tokenizer.ggml.bos_token_id'), 1);
    assert.equal(m.getNumber('tokenizer.ggml.eos_token_id'), 2);
    const tokens = m.getStrings(TOKENS);
    assert.equal(tokens.length, 512);
    assert.deepEqual(tokens.slice(0, 4), ['<unk>', '<s>', '</s>', '<0x00>']);
    assert.equal(tokens[3 + 255], '<0xFF>');
    assert.ok(m.getNumbers('tokenizer.ggml.scores') instanceof Float32Array);
    assert.ok(m.getNumbers('tokenizer.ggml.token_type') instanceof Int32Array);
    assert.equal(m.getNumbers('tokenizer.ggml.scores').length, 512);

    assert.equal(f.tensors.length, 48);
    assert.ok(f.tensors.every((t) => t.type === GGMLType.F32));
    assert.equal(f.tensors.reduce((s, t) => s + t.nElements, 0), 292800);
    assert.deepEqual(f.tensor('token_embd.weight').shape, [64, 512]);
    assert.deepEqual(f.tensor('output.weight').shape, [64, 512]);
    assert.deepEqual(f.tensor('blk.0.attn_k.weight').shape, [64, 32]);
    assert.deepEqual(f.tensor('blk.4.ffn_gate.weight').shape, [64, 172]);
    assert.deepEqual(f.tensor('blk.4.ffn_down.weight').shape, [172, 64]);
    checkLayout(f);
    // The last tensor ends exactly at the end of the file.
    assert.equal(Math.max(...f.tensors.map((t) => t.offset + t.byteSize)), f.size);
  });
});

test('stories260K: tensor bytes are the file bytes at the stated offsets', () => {
  const raw = readFileSync(sharedPath('models', 'stories260K.gguf'));
  withFile(sharedPath('models', 'stories260K.gguf'), (f) => {
    for (const t of f.tensors) {
      const expected = raw.subarray(t.offset, t.offset + t.byteSize);
      assert.deepEqual(f.readTensor(t), new Uint8Array(expected));
      // readTensorInto writes into a view of a larger buffer (as into wasm memory) and nowhere else.
      const big = new Uint8Array(t.byteSize + 16).fill(0xaa);
      f.readTensorInto(t.name, big.subarray(8, 8 + t.byteSize));
      assert.deepEqual(big.subarray(8, 8 + t.byteSize), new Uint8Array(expected));
      assert.ok(big.subarray(0, 8).every((b) => b === 0xaa) && big.subarray(8 + t.byteSize).every((b) => b === 0xaa));
    }
    const norm = new Float32Array(f.readTensor('output_norm.weight').buffer);
    assert.ok(norm.every((x) => Number.isFinite(x)) && norm.some((x) => x !== 0));
    assert.throws(() => f.readTensorInto('output_norm.weight', new Uint8Array(10)), (e) => isHearthError(e, 'invalid_argument'));
    assert.throws(() => f.tensor('nope.weight'), (e) => isHearthError(e, 'model_invalid') && /nope\.weight/.test(e.message));
    assert.equal(f.findTensor('nope.weight'), undefined);
  });
});

test('llama-2-tiny-random: F16 weights, F32 norms, 32000-token vocab', () => {
  withFile(sharedPath('models', 'llama-2-tiny-random.gguf'), (f) => {
    const m = f.metadata;
    assert.equal(m.getNumber('llama.block_count'), 1);
    assert.equal(m.getNumber('llama.embedding_length'), 8);
    assert.equal(m.getNumber('llama.attention.head_count'), 2);
    assert.equal(m.getNumber('llama.feed_forward_length'), 32);
    assert.equal(m.getNumber('llama.rope.dimension_count'), 4);
    assert.equal(m.getNumber('llama.context_length'), 4096);
    assert.equal(m.getNumber('general.file_type'), 1);
    assert.equal(m.getStrings(TOKENS).length, 32000);
    assert.equal(f.tensors.filter((t) => t.type === GGMLType.F16).length, 9);
    const f32 = f.tensors.filter((t) => t.type === GGMLType.F32);
    assert.equal(f32.length, 3);
    assert.ok(f32.every((t) => t.name.endsWith('norm.weight')));
    assert.equal(f.tensors.reduce((s, t) => s + t.nElements, 0), 513048);
    const embd = f.tensor('token_embd.weight');
    assert.deepEqual(embd.shape, [8, 32000]);
    assert.equal(embd.byteSize, 8 * 32000 * 2);
    checkLayout(f);
  });
});

const vocabDir = sharedPath('vocab');
const vocabFiles = readdirSync(vocabDir).filter((n) => n.endsWith('.gguf')).sort();
// Vocabulary sizes from DATA.md.
const VOCAB_SIZE: Record<string, number> = {
  'llama-spm': 32000, 'phi-3': 32064, 'gpt-2': 50257, falcon: 65024, starcoder: 49152, refact: 49216,
  mpt: 50432, 'deepseek-coder': 32256, 'deepseek-llm': 102400, 'bert-bge': 30522, 'gpt-neox': 50432, baichuan: 64000,
};

test('every vocab GGUF parses: 0 tensors, file ends right after the last value', () => {
  assert.equal(vocabFiles.length, 12);
  for (const file of vocabFiles) {
    const key = file.replace(/^ggml-vocab-/, '').replace(/\.gguf$/, '');
    withFile(join(vocabDir, file), (f) => {
      assert.equal(f.version, 3, file);
      assert.equal(f.tensors.length, 0, file);
      assert.ok(f.dataOffset >= f.size && f.dataOffset - f.size < 32, `${file}: unpadded header-only file`);
      const m = f.metadata;
      assert.equal(typeof m.getString('general.architecture'), 'string');
      assert.ok(['llama', 'gpt2', 'bert'].includes(m.getString('tokenizer.ggml.model')), file);
      assert.equal(m.getStrings(TOKENS).length, VOCAB_SIZE[key], file);
      assert.equal(m.getNumbers('tokenizer.ggml.token_type').length, VOCAB_SIZE[key], file);
    });
  }
});

test('vocab details: merges, genuine U+FFFD and U+FEFF tokens, special ids', () => {
  withFile(join(vocabDir, 'ggml-vocab-gpt-2.gguf'), (f) => {
    assert.equal(f.metadata.getStrings('tokenizer.ggml.merges').length, 50000);
    assert.equal(f.metadata.getStrings(TOKENS)[50256], '<|endoftext|>');
    assert.equal(f.metadata.getString('tokenizer.ggml.pre'), 'gpt-2');
  });
  withFile(join(vocabDir, 'ggml-vocab-llama-spm.gguf'), (f) => {
    const tokens = f.metadata.getStrings(TOKENS);
    assert.equal(tokens[30140], '\uFFFD'); // a real token, valid UTF-8 (EF BF BD)
    assert.equal(tokens[30143], '\uFEFF'); // a leading BOM must survive decoding
    assert.equal(tokens[1], '<s>');
    assert.equal(f.metadata.getBool('tokenizer.ggml.add_bos_token'), true);
  });
  withFile(join(vocabDir, 'ggml-vocab-baichuan.gguf'), (f) => {
    // DATA.md: this value is the single byte 0x80 that a text-mode copy once corrupted.
    assert.equal(f.metadata.getNumber('baichuan.rope.dimension_count'), 128);
  });
  withFile(join(vocabDir, 'ggml-vocab-bert-bge.gguf'), (f) => {
    assert.equal(f.metadata.getBool('bert.attention.causal'), false);
    assert.equal(f.metadata.getNumber('tokenizer.ggml.cls_token_id'), 101);
  });
});

test('file reader (chunked positioned reads) and in-memory parser agree on every file', () => {
  const paths = [sharedPath('models', 'stories260K.gguf'), sharedPath('models', 'llama-2-tiny-random.gguf'),
    join(vocabDir, 'ggml-vocab-deepseek-llm.gguf')]; // 3.9 MB: its header spans several 1 MiB chunks
  for (const p of paths) {
    const bytes = readFileSync(p);
    const mem = parseGGUF(bytes, p);
    withFile(p, (f) => {
      assert.deepEqual(f.metadata, mem.metadata);
      assert.deepEqual(f.tensors, mem.tensors);
      assert.equal(f.dataOffset, mem.dataOffset);
    });
  }
});

test('open errors: missing file is not_found; reads after close fail with io_error', () => {
  assert.throws(() => openGGUF('/nonexistent/model.gguf'), (e) => isHearthError(e, 'not_found') && /model\.gguf/.test(e.message));
  const f = openGGUF(sharedPath('models', 'stories260K.gguf'));
  f.close();
  assert.throws(() => f.readTensor('output_norm.weight'), (e) => isHearthError(e, 'io_error'));
});
