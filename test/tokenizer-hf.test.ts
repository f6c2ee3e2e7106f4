// Hugging Face tokenizer.json tokenizers against the llama.cpp vectors of the same vocabularies
// (llama3 ⇔ llama-bpe, qwen3 ⇔ qwen2, gemma3 ⇔ gemma-4; see ../shared/DATA.md), plus their
// tokenizer_config.json specials and malformed-input errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedPath } from './shared.ts';
import { readVectors } from './tokenizer-vectors.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import { tokenizerFromHFJson } from '../src/tokenizer/hf/load-hf.ts';
import { readGGUFMetadata } from '../src/tokenizer/gguf-metadata.ts';
import { isHearthError } from '../src/util/errors.ts';
import type { Tokenizer } from '../src/tokenizer/types.ts';

const cache = new Map<string, Tokenizer>();
function hf(name: string): Tokenizer {
  let t = cache.get(name);
  if (!t) { t = loadTokenizer(sharedPath('tokenizers', name, 'tokenizer.json')); cache.set(name, t); }
  return t;
}

for (const [name, vocab] of [['llama3', 'llama-bpe'], ['qwen3', 'qwen2'], ['gemma3', 'gemma-4']]) {
  test(`${name} tokenizer.json reproduces every ${vocab} test vector and decodes back`, () => {
    const tok = hf(name);
    const inp = sharedPath('vocab', `ggml-vocab-${vocab}.gguf.inp`);
    const cases = readVectors(inp, inp.replace(/\.inp$/, '.out'));
    assert.equal(cases.length, 46);
    const failures: string[] = [];
    for (const c of cases) {
      const got = tok.encode(c.text, { addBos: false, addEos: false });
      if (got.join(' ') !== c.ids.join(' ')) failures.push(`${JSON.stringify(c.text)}: ${got} != ${c.ids}`);
      const back = tok.decode(c.ids, { skipSpecial: false, cleanSpaces: false });
      if (back !== c.text) failures.push(`decode ${JSON.stringify(c.text)} -> ${JSON.stringify(back)}`);
    }
    assert.deepEqual(failures, []);
  });
}

test('qwen3: special-token text is matched as HF tokenizers does, parseSpecial or not; <|im_end|> ends generation', () => {
  const tok = hf('qwen3');
  const imStart = tok.tokenId('<|im_start|>'), imEnd = tok.tokenId('<|im_end|>');
  assert.equal(tok.eosId, imEnd);
  assert.equal(tok.isEog(imEnd), true);
  assert.equal(tok.isEog(tok.tokenId('<|endoftext|>')), true);
  assert.equal(tok.addBos, false);
  const text = '<|im_start|>user\nHi<|im_end|>';
  const parsed = tok.encode(text, { parseSpecial: true });
  assert.equal(parsed[0], imStart);
  assert.equal(parsed[parsed.length - 1], imEnd);
  assert.deepEqual(parsed.slice(1, -1), tok.encode('user\nHi'));
  // tokenizer.json: added tokens are matched even without parseSpecial (unlike a GGUF vocabulary).
  assert.deepEqual(tok.encode(text), parsed);
  assert.deepEqual(tok.encode(text, { parseSpecial: false }), parsed);
  assert.equal(tok.decode(parsed), 'user\nHi');
  assert.equal(tok.decode(parsed, { skipSpecial: false }), text);
});

test('gemma3: tokenizer_config adds <bos>; byte fallback and streaming decode', () => {
  const tok = hf('gemma3');
  assert.equal(tok.bosId, tok.tokenId('<bos>'));
  assert.equal(tok.addBos, true);
  assert.equal(tok.eosId, tok.tokenId('<end_of_turn>'));
  const ids = tok.encode('Hello world');
  assert.equal(ids[0], tok.bosId);
  assert.equal(tok.decode(ids), 'Hello world');
  const dec = tok.createStreamDecoder();
  const text = 'naïve 🦙 — ok';
  let s = '';
  for (const id of tok.encode(text, { addBos: false })) {
    const part = dec.push(id);
    assert.ok(!part.includes('\uFFFD'));
    s += part;
  }
  assert.equal(s + dec.flush(), text);
});

test('mistral tokenizer.json: SentencePiece-style BPE with byte fallback and a stripped leading space', () => {
  const tok = hf('mistral-7b-v0.1');
  assert.equal(tok.addBos, true);
  // "[INST]" → 733 16289 28793 per the vocabulary notes in DATA.md.
  assert.deepEqual(tok.encode('[INST]', { addBos: false }), [733, 16289, 28793]);
  const ids = tok.encode('Hello world');
  assert.equal(ids[0], 1);
  assert.equal(tok.decode(ids), 'Hello world');
  assert.equal(tok.decode(tok.encode('  two spaces', { addBos: false })), '  two spaces');
});

test('deepseek_v3 tokenizer.json loads; its config BOS is added', () => {
  const tok = hf('deepseek_v3');
  assert.equal(tok.bosId, tok.tokenId('<｜begin▁of▁sentence｜>'));
  assert.equal(tok.addBos, true);
  assert.equal(tok.isEog(tok.tokenId('<｜end▁of▁sentence｜>')), true);
  const text = 'DeepSeek-V3 has 671B parameters, 37B active. 你好世界';
  assert.equal(tok.decode(tok.encode(text)), text);
});

test('malformed tokenizer.json is refused with tokenizer_invalid and a clear message', () => {
  const bad = (json: object, re: RegExp) =>
    assert.throws(() => tokenizerFromHFJson(json as Record<string, unknown>), (e) => isHearthError(e, 'tokenizer_invalid') && re.test(e.message));
  bad({}, /model/);
  bad({ model: { type: 'Unigram', vocab: [] } }, /Unigram/);
  bad({ model: { type: 'WordPiece', vocab: { a: 0 } } }, /unk_token/);
  bad({ model: { type: 'BPE', vocab: { a: 0 } } }, /merges/);
  bad({ model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2 }, merges: ['ab'] } }, /merge/);
  bad({ model: { type: 'BPE', vocab: { a: 0 }, merges: [] }, pre_tokenizer: { type: 'Nope' } }, /Nope/);
  const dir = mkdtempSync(join(tmpdir(), 'hearth-tok-'));
  const p = join(dir, 'tokenizer.json');
  writeFileSync(p, '{"model": ');
  assert.throws(() => loadTokenizer(p), (e) => isHearthError(e, 'tokenizer_invalid') && /JSON/.test(e.message));
});

test('WordPiece tokenizer.json (rebuilt from the bert-bge vocabulary) reproduces bert-bge.out', () => {
  // The GGUF stores "▁word" for word starts and bare continuations; tokenizer.json uses "word" / "##cont".
  const md = readGGUFMetadata(sharedPath('vocab', 'ggml-vocab-bert-bge.gguf'));
  const toks = (md.get('tokenizer.ggml.tokens') as { value: string[] }).value;
  const types = (md.get('tokenizer.ggml.token_type') as { value: Int32Array }).value;
  const vocab: Record<string, number> = {};
  toks.forEach((t, i) => { vocab[types[i] === 1 ? (t.startsWith('\u2581') ? t.slice(1) : '##' + t) : t] = i; });
  const special = (t: string) => ({ id: t, ids: [vocab[t]], tokens: [t] });
  const tok = tokenizerFromHFJson({
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      special_tokens: { '[CLS]': special('[CLS]'), '[SEP]': special('[SEP]') },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t) => ({ id: vocab[t], content: t, special: true })),
  });
  const inp = sharedPath('vocab', 'ggml-vocab-bert-bge.gguf.inp');
  const failures: string[] = [];
  for (const c of readVectors(inp, inp.replace(/\.inp$/, '.out'))) {
    const got = tok.encode(c.text, { addBos: false, addEos: false });
    if (got.join(' ') !== c.ids.join(' ')) failures.push(`${JSON.stringify(c.text)}: ${got} != ${c.ids}`);
  }
  assert.deepEqual(failures, []);
  assert.deepEqual(tok.encode('Hello world!'), [101, 7592, 2088, 999, 102]);
  // The WordPiece decoder glues "##" pieces and cleans spaces before punctuation.
  assert.equal(tok.decode(tok.encode('Hello world, unaffable!')), 'hello world, unaffable!');
});
