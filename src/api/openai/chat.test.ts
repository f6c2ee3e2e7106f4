import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chatRequestFromOpenAI, chatCompletion, ChatStreamEncoder } from './chat.ts';
import { usageOf } from './common.ts';
import type { ChoiceResult, NativeEvent } from '../native.ts';

const result = (over: Partial<ChoiceResult> = {}): ChoiceResult => ({
  index: 0, promptIndex: 0, text: 'Hello', tokens: [5, 6], reason: 'eog', stopSequence: null,
  usage: { promptTokens: 7, completionTokens: 2, cachedTokens: 3 },
  timings: { queueMs: 0, promptMs: 1, generateMs: 2, totalMs: 3, firstTokenMs: 1, loadMs: 0 },
  promptTokens: [1, 2, 3, 4, 5, 6, 7], ...over,
});
const meta = { id: 'chatcmpl-1', created: 100, model: 'm', systemFingerprint: 'fp' };

test('chat request: messages, content parts, developer role, sampling names, token limits', () => {
  const r = chatRequestFromOpenAI({
    model: 'm', stream: true, stream_options: { include_usage: true },
    messages: [
      { role: 'developer', content: 'Be kind.' },
      { role: 'user', content: [{ type: 'text', text: 'Hi ' }, { type: 'text', text: 'there' }], name: 'ann' },
      { role: 'assistant', content: null },
    ],
    temperature: 0.5, top_p: 0.9, presence_penalty: 1, frequency_penalty: -1, seed: -1, stop: 'END',
    max_tokens: 50, max_completion_tokens: 20, n: 2, logprobs: true, top_logprobs: 4, top_k: 5, user: 'u', logit_bias: { 7: -100 },
  });
  assert.deepEqual(r.prompts, [{ kind: 'chat', splitReasoning: true, messages: [
    { role: 'system', content: 'Be kind.' }, { role: 'user', content: 'Hi there', name: 'ann' }, { role: 'assistant', content: '' },
  ] }]);
  assert.equal(r.maxTokens, 20);
  assert.equal(r.n, 2);
  assert.equal(r.logprobs, 4);
  assert.deepEqual(r.stop, ['END']);
  assert.equal(r.includeUsage, true);
  assert.equal(r.sampling.temperature, 0.5);
  assert.equal(r.sampling.topP, 0.9);
  assert.equal(r.sampling.topK, 5);
  assert.equal(r.sampling.presencePenalty, 1);
  assert.equal(r.sampling.frequencyPenalty, -1);
  assert.equal(r.sampling.seed, 2 ** 32 - 1);
  assert.deepEqual(r.sampling.logitBias, [[7, -100]]);
});

test('usage counts each prompt once and every choice', () => {
  const u = usageOf([result(), result({ index: 1, usage: { promptTokens: 7, completionTokens: 5, cachedTokens: 3 } })]);
  assert.deepEqual(u, { prompt_tokens: 7, completion_tokens: 7, total_tokens: 14, prompt_tokens_details: { cached_tokens: 3 } });
});

test('chat completion body and finish reasons', () => {
  const c = chatCompletion([result(), result({ index: 1, text: 'x', reason: 'length' })], meta);
  assert.equal(c.object, 'chat.completion');
  assert.deepEqual(c.choices.map((x) => [x.message.content, x.finish_reason]), [['Hello', 'stop'], ['x', 'length']]);
  assert.equal(c.choices[0].logprobs, null);
});

test('stream encoder: role chunk, content, finish, usage chunk; empty deltas are dropped', () => {
  const enc = new ChatStreamEncoder(meta, { includeUsage: true, logprobs: false });
  const [first] = enc.start(1);
  assert.deepEqual(first.choices[0].delta, { role: 'assistant', content: '' });
  assert.equal(first.usage, null);
  assert.deepEqual(enc.event({ type: 'delta', index: 0, text: '', tokens: [{ id: 5, piece: '' }] }), []);
  const [d] = enc.event({ type: 'delta', index: 0, text: 'He', tokens: [{ id: 5, piece: 'He' }] });
  assert.deepEqual(d.choices[0].delta, { content: 'He' });
  const [fin] = enc.event({ type: 'done', index: 0, result: result() });
  assert.deepEqual([fin.choices[0].delta, fin.choices[0].finish_reason], [{}, 'stop']);
  const [u] = enc.end([result()]);
  assert.deepEqual(u.choices, []);
  assert.equal(u.usage!.total_tokens, 9);
  assert.deepEqual(new ChatStreamEncoder(meta, { includeUsage: false, logprobs: false }).end([result()]), []);
});

test('chat_template_kwargs become template variables of the chat prompt', () => {
  const r = chatRequestFromOpenAI({ model: 'm', messages: [{ role: 'user', content: 'x' }], chat_template_kwargs: { enable_thinking: false } });
  assert.deepEqual(r.prompts, [{ kind: 'chat', splitReasoning: true, messages: [{ role: 'user', content: 'x' }], templateVars: { enable_thinking: false } }]);
  assert.deepEqual(chatRequestFromOpenAI({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).prompts, [{ kind: 'chat', splitReasoning: true, messages: [{ role: 'user', content: 'x' }] }]);
  assert.throws(() => chatRequestFromOpenAI({ model: 'm', messages: [{ role: 'user', content: 'x' }], chat_template_kwargs: 'x' }), /chat_template_kwargs must be an object/);
});

test('reasoning_effort is the template\'s thinking switch; chat_template_kwargs, when it sets the switch, wins', () => {
  const vars = (body: Record<string, unknown>) =>
    (chatRequestFromOpenAI({ model: 'm', messages: [{ role: 'user', content: 'x' }], ...body }).prompts[0] as { templateVars?: unknown }).templateVars;
  assert.deepEqual(vars({ reasoning_effort: 'high' }), { enable_thinking: true });
  assert.deepEqual(vars({ reasoning_effort: 'low' }), { enable_thinking: true });
  assert.deepEqual(vars({ reasoning_effort: 'minimal' }), { enable_thinking: false });
  assert.deepEqual(vars({ reasoning_effort: 'none' }), { enable_thinking: false });
  assert.deepEqual(vars({ reasoning_effort: 'high', chat_template_kwargs: { enable_thinking: false, x: 1 } }), { enable_thinking: false, x: 1 });
  assert.throws(() => vars({ reasoning_effort: 'maximum' }), /reasoning_effort must be one of/);
});

test('tools: request fields, call history, tool messages', () => {
  const r = chatRequestFromOpenAI({
    model: 'm', tool_choice: { type: 'function', function: { name: 'f' } }, parallel_tool_calls: false,
    tools: [{ type: 'function', function: { name: 'f', description: 'F', parameters: { type: 'object' }, strict: true } }, { type: 'function', function: { name: 'g' } }],
    messages: [
      { role: 'user', content: 'x' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'ok' },
    ],
  });
  assert.deepEqual(r.prompts, [{
    kind: 'chat',
    splitReasoning: true,
    messages: [
      { role: 'user', content: 'x' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
      { role: 'tool', content: 'ok', toolCallId: 'call_1' },
    ],
    tools: [{ name: 'f', description: 'F', parameters: { type: 'object' } }, { name: 'g', parameters: { type: 'object', properties: {} } }],
    parallelToolCalls: false,
    toolChoice: { name: 'f' },
  }]);
  assert.throws(() => chatRequestFromOpenAI({ model: 'm', messages: [{ role: 'user', content: 'x' }], tool_choice: 'sometimes', tools: [{ type: 'function', function: { name: 'f' } }] }), /tool_choice must be/);
  assert.throws(() => chatRequestFromOpenAI({ model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'f' } }, { type: 'function', function: { name: 'f' } }] }), /repeats the tool name "f"/);
  assert.throws(() => chatRequestFromOpenAI({ model: 'm', messages: [{ role: 'function', name: 'f', content: 'x' }] }), /deprecated function calling/);
});

test('tools: message.tool_calls with null content, finish_reason tool_calls, streamed call chunks', () => {
  const call = { id: 'call_a', name: 'f', arguments: '{"a":1}' };
  const c = chatCompletion([result({ text: '', toolCalls: [call], reason: 'tool_calls' })], meta);
  assert.deepEqual(c.choices[0].message, {
    role: 'assistant', content: null, refusal: null, tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
  });
  assert.equal(c.choices[0].finish_reason, 'tool_calls');
  assert.equal(chatCompletion([result({ toolCalls: [] })], meta).choices[0].message.content, 'Hello');
  const enc = new ChatStreamEncoder(meta, { includeUsage: false, logprobs: false });
  const chunks = [
    { type: 'tool_call_delta', index: 0, call: 0, id: call.id, name: call.name, arguments: '' },
    { type: 'tool_call_delta', index: 0, call: 0, arguments: '{"a":' }, { type: 'tool_call_delta', index: 0, call: 0, arguments: '1}' },
    { type: 'tool_call', index: 0, call: 0, ...call },
  ].flatMap((ev) => enc.event(ev as NativeEvent));
  assert.deepEqual(chunks.map((x) => x.choices[0].delta), [
    { tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '' } }] },
    { tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] },
    { tool_calls: [{ index: 0, function: { arguments: '1}' } }] },
  ]);
  assert.deepEqual(enc.event({ type: 'reasoning', index: 0, text: 'hm' })[0].choices[0].delta, { reasoning_content: 'hm' });
  const [fin] = enc.event({ type: 'done', index: 0, result: result({ reason: 'tool_calls', toolCalls: [call] }) });
  assert.equal(fin.choices[0].finish_reason, 'tool_calls');
});
