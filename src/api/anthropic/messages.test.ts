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
    templateVars: { enable_thinking: false }, splitReasoning: true,
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

test('tools: request tools, tool_choice, tool_use and tool_result blocks', () => {
  const r = messagesRequestFromAnthropic({
    model: 'm', max_tokens: 9, tool_choice: { type: 'any', disable_parallel_tool_use: true },
    tools: [{ name: 'f', description: 'F', input_schema: { type: 'object' } }],
    messages: [
      { role: 'user', content: 'x' },
      { role: 'assistant', content: [{ type: 'text', text: 'Looking.' }, { type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: 1 } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'ok' }] }, { type: 'text', text: 'and?' }] },
    ],
  });
  assert.deepEqual(r.prompts, [{
    kind: 'chat',
    splitReasoning: true,
    messages: [
      { role: 'user', content: 'x' },
      { role: 'assistant', content: 'Looking.', toolCalls: [{ id: 'toolu_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
      { role: 'tool', content: 'ok', toolCallId: 'toolu_1' },
      { role: 'user', content: 'and?' },
    ],
    tools: [{ name: 'f', description: 'F', parameters: { type: 'object' } }],
    toolChoice: 'required',
    parallelToolCalls: false,
  }]);
  const named = messagesRequestFromAnthropic({ model: 'm', max_tokens: 9, messages: [{ role: 'user', content: 'x' }], tools: [{ name: 'f', input_schema: {} }], tool_choice: { type: 'tool', name: 'f' } });
  assert.deepEqual((named.prompts[0] as { toolChoice: unknown }).toolChoice, { name: 'f' });
});

test('tools: tool_use blocks in the body and the stream, stop_reason tool_use', () => {
  const call = { id: 'call_abc', name: 'f', arguments: '{"a":1}' };
  const m = messageResponse(result({ text: '', toolCalls: [call], reason: 'tool_calls' }), { id: 'msg_1', model: 'm' });
  assert.deepEqual(m.content, [{ type: 'tool_use', id: 'toolu_abc', name: 'f', input: { a: 1 } }]);
  assert.equal(m.stop_reason, 'tool_use');
  const enc = new MessagesStreamEncoder({ id: 'msg_1', model: 'm' }, { tools: true });
  const evs = [
    ...enc.start(6), ...enc.event({ type: 'delta', index: 0, text: 'Hi', tokens: [] }),
    ...enc.event({ type: 'tool_call_delta', index: 0, call: 0, id: call.id, name: call.name, arguments: '' }),
    ...enc.event({ type: 'tool_call_delta', index: 0, call: 0, arguments: call.arguments }),
    ...enc.event({ type: 'tool_call', index: 0, call: 0, ...call }),
    ...enc.event({ type: 'done', index: 0, result: result({ reason: 'tool_calls', toolCalls: [call] }) }),
  ];
  assert.deepEqual(evs.map((e) => [e.event, e.data.index]), [
    ['message_start', undefined], ['ping', undefined], ['content_block_start', 0], ['content_block_delta', 0], ['content_block_stop', 0],
    ['content_block_start', 1], ['content_block_delta', 1], ['content_block_stop', 1], ['message_delta', undefined], ['message_stop', undefined],
  ]);
  assert.deepEqual(evs[5].data.content_block, { type: 'tool_use', id: 'toolu_abc', name: 'f', input: {} });
  assert.deepEqual(evs[6].data.delta, { type: 'input_json_delta', partial_json: '{"a":1}' });
  assert.deepEqual((evs[8].data.delta as { stop_reason: string }).stop_reason, 'tool_use');
});

test('thinking: requests switch the template, earlier thinking comes back as reasoning, replies get thinking blocks', () => {
  const base = { model: 'm', max_tokens: 2048, messages: [{ role: 'user', content: 'hi' }] };
  const on = messagesRequestFromAnthropic({ ...base, thinking: { type: 'enabled', budget_tokens: 1024 } });
  assert.deepEqual(on.prompts[0]!.kind === 'chat' && on.prompts[0]!.templateVars, { enable_thinking: true });
  const off = messagesRequestFromAnthropic({ ...base, thinking: { type: 'disabled' } });
  assert.deepEqual(off.prompts[0]!.kind === 'chat' && off.prompts[0]!.templateVars, { enable_thinking: false });
  assert.throws(() => messagesRequestFromAnthropic({ ...base, thinking: { type: 'enabled', budget_tokens: 512 } }), /thinking.budget_tokens must be >= 1024/);
  assert.throws(() => messagesRequestFromAnthropic({ ...base, thinking: { type: 'enabled', budget_tokens: 4096 } }), /less than max_tokens/);
  const history = messagesRequestFromAnthropic({
    ...base,
    messages: [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'they greet', signature: 'sig' }, { type: 'redacted_thinking', data: 'x' }, { type: 'text', text: 'hello' }] },
      { role: 'user', content: 'again' },
    ],
  });
  const p = history.prompts[0]!;
  assert.deepEqual(p.kind === 'chat' && p.messages[1], { role: 'assistant', content: 'hello', reasoningContent: 'they greet' });

  const m = messageResponse(result({ text: 'Hello.', reasoning: 'A greeting.' }), { id: 'msg_1', model: 'm' });
  assert.deepEqual(m.content, [{ type: 'thinking', thinking: 'A greeting.', signature: '' }, { type: 'text', text: 'Hello.' }]);
  const enc = new MessagesStreamEncoder({ id: 'msg_1', model: 'm' }, { reasoning: true });
  const evs = [
    ...enc.start(6), ...enc.event({ type: 'reasoning', index: 0, text: 'A greet' }), ...enc.event({ type: 'reasoning', index: 0, text: 'ing.' }),
    ...enc.event({ type: 'delta', index: 0, text: 'Hello.', tokens: [] }),
    ...enc.event({ type: 'done', index: 0, result: result({ text: 'Hello.', reasoning: 'A greeting.' }) }),
  ];
  assert.deepEqual(evs.map((e) => [e.event, e.data.index, (e.data.delta as { type?: string } | undefined)?.type]), [
    ['message_start', undefined, undefined], ['ping', undefined, undefined],
    ['content_block_start', 0, undefined], ['content_block_delta', 0, 'thinking_delta'], ['content_block_delta', 0, 'thinking_delta'], ['content_block_stop', 0, undefined],
    ['content_block_start', 1, undefined], ['content_block_delta', 1, 'text_delta'], ['content_block_stop', 1, undefined],
    ['message_delta', undefined, undefined], ['message_stop', undefined, undefined],
  ]);
  assert.deepEqual(evs[2]!.data.content_block, { type: 'thinking', thinking: '', signature: '' });
});
