import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensorTargetType } from './quantize-model.ts';
import { GGMLType as T } from '../gguf/ggml-types.ts';

test('1-D tensors and non-weights are kept', () => {
  assert.equal(tensorTargetType('blk.0.attn_norm.weight', [64], 'Q4_0', 5), undefined);
  assert.equal(tensorTargetType('blk.0.attn_q.bias', [64, 1], 'Q4_0', 5), undefined);
});

test('rows that do not fit the block fall back as llama.cpp does', () => {
  assert.equal(tensorTargetType('blk.0.ffn_down.weight', [172, 64], 'Q4_0', 5), T.F16);
  assert.equal(tensorTargetType('blk.0.attn_q.weight', [64, 64], 'Q4_K', 5), T.Q5_0);
  assert.equal(tensorTargetType('blk.0.attn_q.weight', [64, 64], 'Q6_K', 5), T.Q8_0);
  assert.equal(tensorTargetType('blk.0.attn_q.weight', [2048, 2048], 'Q4_K', 22), T.Q4_K);
});

test('Q4_K_M gives output, and attn_v / ffn_down of the use-more-bits layers, Q6_K', () => {
  const t = (name: string) => tensorTargetType(name, [2048, 2048], 'Q4_K_M', 22);
  assert.equal(t('output.weight'), T.Q6_K);
  assert.equal(t('token_embd.weight'), T.Q4_K);
  // 22 layers: n/8 = 2.75 -> layers 0,1,2 and >= 19.25 -> 20,21; between, (i - 2) % 3 == 2 -> 4, 7, 10, 13, 16, 19
  const more = [...Array(22).keys()].filter((il) => t(`blk.${il}.ffn_down.weight`) === T.Q6_K);
  assert.deepEqual(more, [0, 1, 2, 4, 7, 10, 13, 16, 19, 20, 21]);
  assert.equal(t('blk.3.attn_v.weight'), T.Q4_K);
  assert.equal(t('blk.3.attn_q.weight'), T.Q4_K);
});
