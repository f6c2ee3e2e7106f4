import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelCapabilities } from './model-card.ts';
import { capabilityNames } from '../api/native.ts';

const purpose = (pooling: 'none' | 'mean' | 'cls' | 'last' | 'rank' | undefined, encoder = false, classifier = false) => ({ pooling, encoder, classifier });

test('capabilities follow the pooling type, the attention and the classifier head', () => {
  const decoder = modelCapabilities('qwen3', purpose(undefined), '{% if enable_thinking %}{% endif %}');
  assert.deepEqual(capabilityNames(decoder.capabilities), ['completion', 'embedding', 'thinking']);
  assert.deepEqual(capabilityNames(modelCapabilities('llama', purpose(undefined), undefined).capabilities), ['completion', 'embedding']);
  assert.match(modelCapabilities('llama', purpose(undefined), 'x').missing.thinking!, /no thinking switch/);
  const hermes = modelCapabilities('qwen3', purpose(undefined), '{% if tools %}<tool_call>{"name": …}</tool_call>{% endif %}{{ enable_thinking }}');
  assert.deepEqual(capabilityNames(hermes.capabilities), ['completion', 'embedding', 'thinking', 'tools']);
  assert.match(modelCapabilities('llama', purpose(undefined), 'x').missing.tools!, /no tool-call syntax/);

  const bert = modelCapabilities('bert', purpose('mean', true), undefined);
  assert.deepEqual(capabilityNames(bert.capabilities), ['embedding']);
  assert.match(bert.missing.chat!, /bert is an encoder \(bidirectional attention, no language-model head\): it gives embeddings, not text/);
  assert.match(bert.missing.rerank!, /not a reranker .*pooling is mean/);

  const ranker = modelCapabilities('bert', purpose('rank', true, true), undefined);
  assert.deepEqual(capabilityNames(ranker.capabilities), ['rerank']);
  assert.match(ranker.missing.embeddings!, /reranker \(bert.pooling_type rank\)/);
  assert.match(ranker.missing.completion!, /gives relevance scores, not text/);
  assert.match(modelCapabilities('bert', purpose('rank', true, false), undefined).missing.rerank!, /no classification head/);

  const tokens = modelCapabilities('bert', purpose('none', true), undefined);
  assert.deepEqual(capabilityNames(tokens.capabilities), []);
  assert.match(tokens.missing.embeddings!, /pooling type is none/);
  // a decoder converted as an embedding model (e.g. pooling last) embeds and does not generate
  const qwenEmbed = modelCapabilities('qwen3', purpose('last'), undefined);
  assert.deepEqual(capabilityNames(qwenEmbed.capabilities), ['embedding']);
  assert.match(qwenEmbed.missing.chat!, /marks it as an embedding model \(qwen3.pooling_type last\)/);
});
