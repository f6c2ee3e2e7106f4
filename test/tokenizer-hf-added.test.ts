// Added tokens of tokenizer.json (special or not) written out in running text, against Tokenizers.js
// (@huggingface/tokenizers, the JS port of HF tokenizers) as the oracle. Like HF tokenizers it matches
// every added token before the model runs, whether or not special tokens are added, and honours
// lstrip/rstrip/normalized; it has no single_word and no split_special_tokens, which
// src/tokenizer/hf/added-tokens.test.ts covers by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Tokenizer as Oracle } from '@huggingface/tokenizers';
import { sharedPath } from './shared.ts';
import { tokenizerFromHFJson } from '../src/tokenizer/hf/load-hf.ts';
import { chatTextTokens } from '../src/chat/prompt.ts';

type Json = Record<string, unknown>;
interface Added { id: number; content: string; special: boolean }

const NAMES = ['qwen3', 'gemma3', 'mistral-7b-v0.1', 'llama3', 'deepseek_v3'];

function files(name: string): { json: Json; config: Json } {
  const read = (f: string) => JSON.parse(readFileSync(sharedPath('tokenizers', name, f), 'utf8')) as Json;
  return { json: read('tokenizer.json'), config: read('tokenizer_config.json') };
}

/** Hearth's ids (no BOS/EOS, no parseSpecial) against the oracle's (add_special_tokens false). */
function mismatches(json: Json, config: Json, texts: string[], oracleJson: Json = json): string[] {
  const tok = tokenizerFromHFJson(json, config);
  const oracle = new Oracle(oracleJson, config);
  const out: string[] = [];
  for (const text of texts) {
    const got = tok.encode(text, { addBos: false, addEos: false });
    const want = oracle.encode(text, { add_special_tokens: false }).ids;
    if (got.join(' ') !== want.join(' ')) out.push(`${JSON.stringify(text)}: ${got.join(' ')} != ${want.join(' ')}`);
  }
  return out;
}

function runningText(added: Added[]): string[] {
  const texts = added.map((a) => `Hello ${a.content}user and ${a.content} world${a.content}`);
  const sp = added.filter((a) => a.special).map((a) => a.content).slice(0, 12);
  texts.push(`${sp[0]}Hello ${sp.join(' and ')}\n${sp.join('')}x${sp.join('\n\n')}`);
  return texts;
}

for (const name of NAMES) {
  test(`${name}: every added token in running text is matched as HF tokenizers does`, () => {
    const { json, config } = files(name);
    const added = json.added_tokens as Added[];
    // The oracle itself must match special tokens with add_special_tokens false, or it proves nothing.
    const special = added.find((a) => a.special)!;
    assert.ok(new Oracle(json, config).encode(`a${special.content}b`, { add_special_tokens: false }).ids.includes(special.id));
    assert.deepEqual(mismatches(json, config, runningText(added)), []);
  });
}

test('qwen3: split_special_tokens leaves special tokens to the model; parseSpecial (chat) still matches them', () => {
  const { json, config } = files('qwen3');
  const added = json.added_tokens as Added[];
  const split = { ...config, split_special_tokens: true };
  // Under split_special_tokens a special token is ordinary text: the oracle without the special tokens.
  const withoutSpecial = { ...json, added_tokens: added.filter((a) => !a.special) };
  assert.deepEqual(mismatches(json, split, runningText(added), withoutSpecial), []);
  const tok = tokenizerFromHFJson(json, split);
  const imStart = tok.tokenId('<|im_start|>');
  assert.ok(!tok.encode('<|im_start|>user\nHi').includes(imStart));
  assert.ok(!tok.encode('<|im_start|>user\nHi', { parseSpecial: false }).includes(imStart));
  // Non-special added tokens are still matched.
  assert.ok(tok.encode('<tool_call>').includes(tok.tokenId('<tool_call>')));
  // Chat prompts render special tokens as text and tokenize with parseSpecial: true.
  const rendered = '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n';
  const chat = chatTextTokens(tok, rendered);
  assert.equal(chat[0], imStart);
  assert.deepEqual(chat, chatTextTokens(tokenizerFromHFJson(json, config), rendered));
});

test('mistral: lstrip/rstrip and normalized added tokens agree with the oracle', () => {
  const { json, config } = files('mistral-7b-v0.1');
  const base = json.added_tokens as Json[];
  const n = Object.keys((json.model as Json).vocab as Json).length;
  const extra = [
    { content: '<mask>', special: true, lstrip: true, rstrip: true, normalized: false, single_word: false },
    { content: '<left>', special: false, lstrip: true, rstrip: false, normalized: false, single_word: false },
    { content: '<right>', special: false, lstrip: false, rstrip: true, normalized: false, single_word: false },
    // Normalized: matched in the normalized text (" " → "▁", "▁" prepended to each piece).
    { content: 'new york', special: false, lstrip: false, rstrip: false, normalized: true, single_word: false },
    { content: 'raw text', special: false, lstrip: false, rstrip: false, normalized: false, single_word: false },
  ].map((t, i) => ({ id: n + i, ...t }));
  const j = { ...json, added_tokens: [...base, ...extra] };
  const texts = [
    'I saw a <mask> there', 'a  \t<mask>\n\nb', '<mask> <mask>  <mask>', 'x <left> y <right> z', 'x<left>y<right>z',
    'flights to new york today', 'new york', 'New York new  york newyork', 'raw text, raw  text', 'a raw text<mask>new york</s>',
  ];
  assert.deepEqual(mismatches(j, config, texts), []);
  const tok = tokenizerFromHFJson(j, config);
  assert.ok(tok.encode('to new york', { addBos: false }).includes(n + 3));
  assert.ok(tok.encode('say raw text', { addBos: false }).includes(n + 4));
});
