// The GGUF "gemma4" BPE path (raw UTF-8 merges with ▁ for spaces and <0xXX> byte tokens) has no
// vocabulary file here, so the test builds its metadata from the Gemma 3 tokenizer.json (the same
// vocabulary, see ../shared/DATA.md) and checks it against gemma-4.out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sharedPath } from './shared.ts';
import { readVectors } from './tokenizer-vectors.ts';
import { tokenizerFromGGUF } from '../src/tokenizer/from-gguf.ts';
import { GGUFValueType as T } from '../src/gguf/value-types.ts';

test('gemma4-style GGUF metadata reproduces every gemma-4 test vector', () => {
  const j = JSON.parse(readFileSync(sharedPath('tokenizers', 'gemma3', 'tokenizer.json'), 'utf8'));
  const added = j.added_tokens as { id: number; content: string; special: boolean }[];
  let n = 0;
  for (const id of Object.values(j.model.vocab) as number[]) n = Math.max(n, id + 1);
  for (const a of added) n = Math.max(n, a.id + 1);
  const tokens: string[] = new Array(n).fill('');
  const types = new Int32Array(n).fill(1);
  for (const [t, id] of Object.entries(j.model.vocab) as [string, number][]) {
    tokens[id] = t;
    if (/^<0x[0-9A-F]{2}>$/.test(t)) types[id] = 6;
  }
  for (const a of added) { tokens[a.id] = a.content; types[a.id] = a.special ? 3 : 4; }
  const md = new Map<string, unknown>([
    ['tokenizer.ggml.model', { type: T.STRING, value: 'gemma4' }],
    ['tokenizer.ggml.tokens', { type: T.ARRAY, itemType: T.STRING, value: tokens }],
    ['tokenizer.ggml.token_type', { type: T.ARRAY, itemType: T.INT32, value: types }],
    ['tokenizer.ggml.merges', { type: T.ARRAY, itemType: T.STRING, value: (j.model.merges as string[][]).map((m) => m.join(' ')) }],
    ['tokenizer.ggml.bos_token_id', { type: T.UINT32, value: 2 }],
    ['tokenizer.ggml.eos_token_id', { type: T.UINT32, value: 1 }],
  ]);
  const tok = tokenizerFromGGUF(md);
  assert.equal(tok.addBos, true); // forced on for Gemma 4, as llama.cpp does
  const inp = sharedPath('vocab', 'ggml-vocab-gemma-4.gguf.inp');
  const cases = readVectors(inp, inp.replace(/\.inp$/, '.out'));
  assert.equal(cases.length, 46);
  const failures: string[] = [];
  for (const c of cases) {
    const got = tok.encode(c.text, { addBos: false });
    if (got.join(' ') !== c.ids.join(' ')) failures.push(`${JSON.stringify(c.text)}: ${got} != ${c.ids}`);
  }
  assert.deepEqual(failures, []);
  // Normal tokens decode with ▁ as space and <0xXX> as raw bytes.
  assert.equal(tok.decode(tok.encode('Hello wörld 🦙', { addBos: false })), 'Hello wörld 🦙');
});
