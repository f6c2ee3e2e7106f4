import { test } from 'node:test';
import assert from 'node:assert/strict';
import { messagesRequestFromAnthropic, messageResponse, MessagesStreamEncoder, stopReason } from './messages.ts';
import type { ChoiceResult } from '../native.ts';

const result = (over: Partial<ChoiceResult> = {}): ChoiceResult => ({
  index: 0, promptIndex: 0, text: 'Hi!', tokens: [4], reason: 'eog', stopSequence: null,
  usage: { promptTokens: 6, completionTokens: 1, cachedTokens: 2 },
  timings: { queueMs: 0, promptMs: 1, generateMs: 1, totalMs: 2, firstTokenMs: 1, loadMs: 0 },
  promptTokens: [1], ...over,
});

test('request: system blocks, content blocks, sampling, stop sequences', () => {
  const r = messagesRequestFromAnthropic({
    model: 'm', max_tokens: 9, system: [{ type: 'text', text: 'S' }], temperature: 0.3, top_p: 0.5, top_k: 7,
    stop_sequences: ['\n\n'], metadata: { user_id: 'u' }, thinking: { type: 'disabled' },
    messages: [{ role: 'user', content: [{ type: 'text', text: 'a', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'b' }] }, { role: 'assistant', content: 'c' }],
  });
  // thinking disabled turns a template's thinking switch off
  assert.deepEqual(r.prompts, [{
    kind: 'chat', messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'ab' }, { role: 'assistant', content: 'c' }],
    templateVars: { enable_thinking: false },
  }]);
  assert.deepEqual([r.maxTokens, r.stop, r.stream], [9, ['\n\n'], false]);
  assert.deepEqual(r.sampling, { temperature: 0.3, topP: 0.5, topK: 7 });
});

test('stop reasons and the message body', () => {
  assert.equal(stopReason(result()), 'end_turn');
  assert.equal(stopReason(result({ reason: 'length' })), 'max_tokens');
  assert.equal(stopReason(result({ reason: 'stop', stopSequence: 'END' })), 'stop_sequence');
  const m = messageResponse(result(), { id: 'msg_1', model: 'm' });
  assert.deepEqual(m, {
    id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Hi!' }],
    stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 6, output_tokens: 1 },
  });
});

test('stream events in order', () => {
  const enc = new MessagesStreamEncoder({ id: 'msg_1', model: 'm' });
  const names = [
    ...enc.start(6), ...enc.event({ type: 'delta', index: 0, text: '', tokens: [] }),
    ...enc.event({ type: 'delta', index: 0, text: 'Hi', tokens: [] }), ...enc.event({ type: 'done', index: 0, result: result({ reason: 'length' }) }),
  ];
  assert.deepEqual(names.map((e) => e.event), ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  assert.deepEqual(names[3].data.delta, { type: 'text_delta', text: 'Hi' });
  assert.deepEqual(names[5].data, { type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: 1 } });
});
