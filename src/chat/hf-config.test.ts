import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chatConfigFromTokenizerConfig } from './hf-config.ts';

test('named template lists pick by name, else default', () => {
  const cfg = {
    chat_template: [{ name: 'default', template: 'D' }, { name: 'tool_use', template: 'T' }],
    bos_token: { __type: 'AddedToken', content: '<s>' },
    eos_token: '</s>',
  };
  assert.deepEqual(chatConfigFromTokenizerConfig(cfg), { template: 'D', bosToken: '<s>', eosToken: '</s>' });
  assert.equal(chatConfigFromTokenizerConfig(cfg, 'tool_use').template, 'T');
  assert.equal(chatConfigFromTokenizerConfig(cfg, 'rag').template, 'D');
});

test('missing or null fields come back undefined', () => {
  assert.deepEqual(chatConfigFromTokenizerConfig({ bos_token: null }), { template: undefined, bosToken: undefined, eosToken: undefined });
  assert.deepEqual(chatConfigFromTokenizerConfig(undefined), { template: undefined, bosToken: undefined, eosToken: undefined });
});
