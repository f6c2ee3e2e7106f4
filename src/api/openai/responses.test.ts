import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChoiceResult, NativeEvent, TokenInfo } from '../native.ts';
import { messagesOfItems, responsesNative, responsesRequestFromOpenAI, type ResponseItem } from './responses-request.ts';
import { itemList, ResponseBuilder, type StreamEvent } from './responses-output.ts';
import { responsesSchemas } from '../../../test/fixtures/openai-responses-schema.ts';

const schemas = responsesSchemas();

let n = 0;
const newId = (prefix: string) => `${prefix}${++n}`;

const tokens = (k: number): TokenInfo[] => Array.from({ length: k }, (_, i) => ({ id: i, piece: 'x' }));

function result(o: Partial<ChoiceResult> = {}): ChoiceResult {
  return {
    index: 0, promptIndex: 0, text: '', tokens: [], reason: 'stop', stopSequence: null, promptTokens: [],
    usage: { promptTokens: 10, completionTokens: 6, cachedTokens: 4 },
    timings: { queueMs: 0, promptMs: 0, generateMs: 0, totalMs: 0, firstTokenMs: 0, loadMs: 0 }, ...o,
  };
}

function builder(): ResponseBuilder {
  const req = responsesRequestFromOpenAI({ model: 'm', input: 'hi' }, newId);
  return new ResponseBuilder({ id: 'resp_1', createdAt: 1, model: 'm', echo: req.echo, newId, now: () => 2 });
}

function run(b: ResponseBuilder, events: NativeEvent[]): StreamEvent[] {
  return [...b.start(), ...events.flatMap((e) => b.event(e))];
}

test('reasoning read apart: a reasoning item with its summary events, then the message; reasoning tokens counted', () => {
  const b = builder();
  const evs = run(b, [
    { type: 'reasoning', index: 0, text: 'Let me' },
    { type: 'delta', index: 0, text: '', tokens: tokens(2) },
    { type: 'reasoning', index: 0, text: ' see.' },
    { type: 'delta', index: 0, text: 'Hel', tokens: tokens(2) },
    { type: 'delta', index: 0, text: 'lo', tokens: tokens(2) },
    { type: 'done', index: 0, result: result() },
  ]);
  assert.deepEqual(evs.map((e) => e.type), [
    'response.created', 'response.in_progress',
    'response.output_item.added', 'response.reasoning_summary_part.added',
    'response.reasoning_summary_text.delta', 'response.reasoning_summary_text.delta',
    'response.reasoning_summary_text.done', 'response.reasoning_summary_part.done', 'response.output_item.done',
    'response.output_item.added', 'response.content_part.added', 'response.output_text.delta', 'response.output_text.delta',
    'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed',
  ]);
  assert.deepEqual(evs.map((e) => e.sequence_number), evs.map((_, i) => i));
  for (const e of evs) schemas.conformingEvent(e);
  const r = b.response();
  schemas.conforms('Response', r);
  assert.equal(r.status, 'completed');
  assert.equal(r.completed_at, 2);
  assert.deepEqual(r.output.map((o) => o.type), ['reasoning', 'message']);
  assert.deepEqual((r.output[0] as { summary: unknown }).summary, [{ type: 'summary_text', text: 'Let me see.' }]);
  assert.equal((r.output[1] as { content: { text: string }[] }).content[0].text, 'Hello');
  // the first step was all reasoning (2 tokens); the second also wrote content, so its tokens are output
  assert.deepEqual(r.usage, {
    input_tokens: 10, input_tokens_details: { cached_tokens: 4, cache_write_tokens: 6 },
    output_tokens: 6, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 16,
  });
});

test('a call streamed as it is written: its pieces are the argument deltas, the whole call closes it', () => {
  const b = builder();
  const evs = run(b, [
    { type: 'tool_call_delta', index: 0, call: 0, id: 'call_a', name: 'f', arguments: '' },
    { type: 'tool_call_delta', index: 0, call: 0, arguments: '{"x":' },
    { type: 'delta', index: 0, text: '', tokens: tokens(2) },
    { type: 'tool_call_delta', index: 0, call: 0, arguments: '1' },
    { type: 'tool_call', index: 0, call: 0, id: 'call_a', name: 'f', arguments: '{"x":1}' },
    { type: 'done', index: 0, result: result({ reason: 'tool_calls' }) },
  ]).slice(2);
  for (const e of evs) schemas.conformingEvent(e);
  assert.deepEqual(evs.map((e) => e.type), [
    'response.output_item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.delta',
    'response.function_call_arguments.delta', 'response.function_call_arguments.done', 'response.output_item.done', 'response.completed',
  ]);
  assert.deepEqual(evs.filter((e) => e.type === 'response.function_call_arguments.delta').map((e) => e.delta), ['{"x":', '1', '}']);
  const r = b.response();
  assert.deepEqual(r.output.map((o) => o.type === 'function_call' && [o.call_id, o.name, o.arguments, o.status]), [['call_a', 'f', '{"x":1}', 'completed']]);
  assert.equal(r.usage?.output_tokens_details.reasoning_tokens, 0);
  // a call cut short by the token limit stays incomplete
  const cut = builder();
  run(cut, [
    { type: 'tool_call_delta', index: 0, call: 0, id: 'call_b', name: 'f', arguments: '{"x' },
    { type: 'done', index: 0, result: result({ reason: 'length' }) },
  ]);
  assert.deepEqual(cut.response().output.map((o) => o.type === 'function_call' && [o.arguments, o.status]), [['{"x', 'incomplete']]);
});

test('reasoning and calls as the provider reads them apart: reasoning item, then function_call items with their argument events', () => {
  const b = builder();
  const evs = run(b, [
    { type: 'reasoning', index: 0, text: 'hmm' },
    { type: 'delta', index: 0, text: '', tokens: tokens(3) },
    { type: 'tool_call', index: 0, call: 0, id: 'call_a', name: 'f', arguments: '{"x":1}' },
    { type: 'tool_call', index: 0, call: 1, id: 'call_b', name: 'g', arguments: '{}' },
    { type: 'done', index: 0, result: result({ reason: 'tool_calls' }) },
  ]).slice(2);
  assert.deepEqual(evs.map((e) => e.type), [
    'response.output_item.added', 'response.reasoning_summary_part.added', 'response.reasoning_summary_text.delta',
    'response.reasoning_summary_text.done', 'response.reasoning_summary_part.done', 'response.output_item.done',
    'response.output_item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.done', 'response.output_item.done',
    'response.output_item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.done', 'response.output_item.done',
    'response.completed',
  ]);
  for (const e of evs) schemas.conformingEvent(e);
  const r = b.response();
  schemas.conforms('Response', r);
  assert.deepEqual(r.output.slice(1).map((o) => o.type === 'function_call' && [o.call_id, o.name, o.arguments, o.status]),
    [['call_a', 'f', '{"x":1}', 'completed'], ['call_b', 'g', '{}', 'completed']]);
  assert.equal(r.usage?.output_tokens_details.reasoning_tokens, 3);
  const added = evs.find((e) => e.type === 'response.output_item.added' && (e.item as { type: string }).type === 'function_call')!;
  assert.deepEqual(added.item, { id: (r.output[1] as { id: string }).id, type: 'function_call', call_id: 'call_a', name: 'f', arguments: '', status: 'in_progress' });
});

test('an empty reply is one empty message; a cut-off one is incomplete with max_output_tokens', () => {
  const b = builder();
  run(b, [{ type: 'done', index: 0, result: result() }]);
  assert.deepEqual(b.response().output.map((o) => o.type === 'message' && o.content), [[{ type: 'output_text', text: '', annotations: [], logprobs: [] }]]);
  const cut = builder();
  const evs = run(cut, [{ type: 'delta', index: 0, text: 'Once', tokens: tokens(1) }, { type: 'done', index: 0, result: result({ reason: 'length' }) }]);
  assert.equal(evs.at(-1)!.type, 'response.incomplete');
  const r = cut.response();
  assert.deepEqual([r.status, r.incomplete_details, r.completed_at, (r.output[0] as { status: string }).status], ['incomplete', { reason: 'max_output_tokens' }, null, 'incomplete']);
});

test('items to messages: calls join the assistant turn, outputs are tool messages, reasoning goes with the next assistant turn', () => {
  const req = responsesRequestFromOpenAI({
    model: 'm', instructions: 'Be kind.',
    input: [
      { role: 'developer', content: 'Rules.' },
      { role: 'user', content: [{ type: 'input_text', text: 'a' }, { type: 'input_text', text: 'b' }] },
      { type: 'reasoning', summary: [{ type: 'summary_text', text: 'think' }] },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Sure.' }] },
      { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
      { type: 'function_call', call_id: 'c2', name: 'g', arguments: '{"y":2}' },
      { type: 'function_call_output', call_id: 'c1', output: 'one' },
      { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'two' }] },
    ],
  }, newId);
  assert.deepEqual(req.input.map((i) => i.id.split('_')[0]), ['msg', 'msg', 'rs', 'msg', 'fc', 'fc', 'fco', 'fco']);
  const native = responsesNative(req, []);
  const p = native.prompts[0];
  assert.ok(p.kind === 'chat');
  assert.deepEqual(p.messages, [
    { role: 'system', content: 'Be kind.\n\nRules.' },
    { role: 'user', content: 'ab' },
    {
      role: 'assistant', content: 'Sure.', reasoningContent: 'think',
      toolCalls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }, { id: 'c2', type: 'function', function: { name: 'g', arguments: '{"y":2}' } }],
    },
    { role: 'tool', content: 'one', toolCallId: 'c1', name: 'f' },
    { role: 'tool', content: 'two', toolCallId: 'c2', name: 'g' },
  ]);
  // a call with no assistant text before it opens its own turn
  const bare: ResponseItem[] = [{ id: 'fc_9', type: 'function_call', call_id: 'c', name: 'f', arguments: '{}', status: 'completed' }];
  assert.deepEqual(messagesOfItems(bare), [{ role: 'assistant', content: '', toolCalls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }]);
});

test('request fields: reasoning effort is the thinking switch, tool_choice and text.format reach the native request, item_reference resolves', () => {
  const think = (effort: string) => responsesNative(responsesRequestFromOpenAI({ model: 'm', input: 'x', reasoning: { effort } }, newId), []).prompts[0];
  assert.deepEqual((think('high') as { templateVars?: unknown }).templateVars, { enable_thinking: true });
  assert.deepEqual((think('minimal') as { templateVars?: unknown }).templateVars, { enable_thinking: false });
  const req = responsesRequestFromOpenAI({
    model: 'm', input: 'x', max_output_tokens: 7, temperature: 0.5, seed: -1, parallel_tool_calls: false,
    tools: [{ type: 'function', name: 'f', parameters: { type: 'object', properties: {} }, strict: true }], tool_choice: { type: 'function', name: 'f' },
  }, newId);
  const native = responsesNative(req, []);
  assert.equal(native.maxTokens, 7);
  assert.deepEqual(native.sampling, { temperature: 0.5, topP: undefined, seed: 2 ** 32 - 1 });
  const p = native.prompts[0];
  assert.ok(p.kind === 'chat');
  assert.deepEqual([p.toolChoice, p.parallelToolCalls, p.tools?.map((t) => t.name)], [{ name: 'f' }, false, ['f']]);
  assert.deepEqual(req.echo.tools, [{ type: 'function', name: 'f', description: null, parameters: { type: 'object', properties: {} }, strict: true }]);
  const json = responsesRequestFromOpenAI({ model: 'm', input: 'x', text: { format: { type: 'json_object' } } }, newId);
  assert.ok(json.sampling.grammar);
  const stored = { id: 'msg_old', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hi.', annotations: [], logprobs: [] }] };
  const ref = responsesRequestFromOpenAI({ model: 'm', input: [{ type: 'item_reference', id: 'msg_old' }] }, newId, (id) => (id === 'msg_old' ? stored : undefined));
  assert.deepEqual(ref.input, [stored]);
  assert.throws(() => responsesRequestFromOpenAI({ model: 'm', input: [{ type: 'item_reference', id: 'msg_x' }] }, newId), /no stored output item/);
});

test('input_items pages: newest first by default, after an id, has_more', () => {
  const items = ['a', 'b', 'c'].map((id): ResponseItem => ({ id, type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: id }] }));
  const ids = (l: { data: ResponseItem[] }) => l.data.map((i) => i.id);
  assert.deepEqual(ids(itemList(items, { order: 'desc', limit: 20 })), ['c', 'b', 'a']);
  const first = itemList(items, { order: 'asc', limit: 2 });
  assert.deepEqual([ids(first), first.first_id, first.last_id, first.has_more], [['a', 'b'], 'a', 'b', true]);
  const rest = itemList(items, { order: 'asc', limit: 2, after: 'b' });
  assert.deepEqual([ids(rest), rest.has_more], [['c'], false]);
});

test('an error after the stream began: an error event, then response.failed', () => {
  const b = builder();
  run(b, [{ type: 'delta', index: 0, text: 'Once', tokens: tokens(1) }]);
  const evs = b.fail({ status: 504, code: 'timeout', message: 'the request ran past its time limit' });
  assert.deepEqual(evs.map((e) => e.type), ['error', 'response.failed']);
  for (const e of evs) schemas.conformingEvent(e);
  assert.deepEqual(b.response().error, { code: 'server_error', message: 'the request ran past its time limit' });
});
