// The OpenAI Responses API through the official client against a live server over stories260K with Qwen3's chat
// template: plain and streamed answers (the semantic events in order, their deltas adding up), a conversation
// continued with previous_response_id (its prompt the first exchange and more, its prefix served from the KV
// cache), forced function calls and a json_schema format held by a grammar, the stored responses (retrieve,
// input_items, delete, store: false), refusals of what Hearth cannot do, and responses owned by API keys. Every
// object and event is checked against the Responses schemas of OpenAI's OpenAPI spec.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { z } from 'zod';
import { generateText, streamText, tool as aiTool } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI } from '@langchain/openai';
import { AIMessageChunk, HumanMessage } from '@langchain/core/messages';
import { tool as lcTool } from '@langchain/core/tools';
import { sharedPath } from '../shared.ts';
import { startServer, chatTemplateModelPath, type TestServer } from './harness.ts';
import { tempDir } from '../security/harness.ts';
import { responsesSchemas } from '../fixtures/openai-responses-schema.ts';
import { openStore } from '../../src/store/store.ts';

const QWEN3_TEMPLATE = (JSON.parse(readFileSync(sharedPath('tokenizers', 'qwen3', 'tokenizer_config.json'), 'utf8')) as { chat_template: string }).chat_template;
const MODEL = 'responder';

let srv: TestServer;
let openai: OpenAI;
const { ajv, conforms, conformingEvent } = responsesSchemas();

before(async () => {
  srv = await startServer({ path: chatTemplateModelPath(QWEN3_TEMPLATE), alias: MODEL, parallel: 2, nCtx: 2048 });
  openai = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(() => srv.close());

/** `seed` (llama-server's, not in the client's types): the sampler's seed. */
const seed = (n: number): object => ({ seed: n });

/** The prompt the server renders for these messages, as token ids. */
function promptTokens(messages: { role: string; content: string }[]): number[] {
  return srv.host.ready().tokenize({ kind: 'chat', messages });
}

test('responses.create: a string input gives one assistant message, the same text chat completions gives', async () => {
  const r = await openai.responses.create({ model: MODEL, input: 'Tell me a story.', max_output_tokens: 12, temperature: 0 });
  conforms('Response', r);
  assert.match(r.id, /^resp_\w+$/);
  assert.equal(r.object, 'response');
  assert.equal(r.model, MODEL);
  assert.equal(r.output.length, 1);
  const [msg] = r.output;
  assert.ok(msg.type === 'message');
  assert.match(msg.id, /^msg_\w+$/);
  assert.equal(msg.role, 'assistant');
  const chat = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Tell me a story.' }], max_tokens: 12, temperature: 0 });
  assert.equal(r.output_text, chat.choices[0].message.content);
  assert.equal(r.usage!.input_tokens, promptTokens([{ role: 'user', content: 'Tell me a story.' }]).length);
  assert.equal(r.usage!.output_tokens, 12);
  assert.equal(r.usage!.total_tokens, r.usage!.input_tokens + 12);
  // 12 tokens is all it may write: cut short, as OpenAI says it
  assert.equal(r.status, 'incomplete');
  assert.deepEqual(r.incomplete_details, { reason: 'max_output_tokens' });
  assert.equal(msg.status, 'incomplete');
  assert.equal(r.max_output_tokens, 12);
  assert.equal(r.temperature, 0);
  assert.equal((r as { store?: boolean }).store, true);
});

test('instructions (joined with a leading developer message), assistant items and input_text parts reach the template in order', async () => {
  const r = await openai.responses.create({
    model: MODEL, max_output_tokens: 4, temperature: 0, instructions: 'Be brief.',
    input: [
      { role: 'developer', content: 'Speak of cats.' },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hi' }, { type: 'input_text', text: ' there' }] },
      { role: 'assistant', content: 'Hello.' },
      { role: 'user', content: 'Go on.' },
    ],
  });
  conforms('Response', r);
  assert.equal(r.instructions, 'Be brief.');
  assert.equal(r.usage!.input_tokens, promptTokens([
    { role: 'system', content: 'Be brief.\n\nSpeak of cats.' }, { role: 'user', content: 'Hi there' },
    { role: 'assistant', content: 'Hello.' }, { role: 'user', content: 'Go on.' },
  ]).length);
});

test('streamed: the semantic events in order, numbered, their deltas adding up to the final text', async () => {
  const stream = await openai.responses.create({ model: MODEL, input: 'Once upon a time', max_output_tokens: 16, temperature: 0, stream: true });
  const events: OpenAI.Responses.ResponseStreamEvent[] = [];
  for await (const e of stream) events.push(e);
  for (const e of events) conformingEvent(e);
  assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
  const types = events.map((e) => e.type);
  const deltas = events.filter((e) => e.type === 'response.output_text.delta');
  assert.ok(deltas.length >= 2, types.join(' '));
  assert.deepEqual(types, [
    'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
    ...deltas.map(() => 'response.output_text.delta'),
    'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.incomplete',
  ]);
  const last = events.at(-1)!;
  assert.ok(last.type === 'response.incomplete');
  const text = deltas.map((d) => d.delta).join('');
  const done = events.find((e) => e.type === 'response.output_text.done')!;
  assert.ok(done.type === 'response.output_text.done');
  assert.equal(done.text, text);
  const final = last.response.output[0];
  assert.ok(final.type === 'message' && final.content[0].type === 'output_text');
  assert.equal(final.content[0].text, text);
  assert.equal(last.response.usage!.output_tokens, 16);
  // the same as the answer in one piece
  const whole = await openai.responses.create({ model: MODEL, input: 'Once upon a time', max_output_tokens: 16, temperature: 0 });
  assert.equal(whole.output_text, text);
  // and through the client's stream helper, which builds the response from the events
  const helper = openai.responses.stream({ model: MODEL, input: 'Once upon a time', max_output_tokens: 16, temperature: 0 });
  const built = await helper.finalResponse();
  assert.equal(built.output_text, text);
});

test('previous_response_id: the prompt is the first exchange and the new input, its prefix served from the cache', async () => {
  const first = await openai.responses.create({ model: MODEL, input: 'Lily had a red ball.', max_output_tokens: 10, temperature: 0 });
  const second = await openai.responses.create({
    model: MODEL, input: 'What happened next?', previous_response_id: first.id, max_output_tokens: 10, temperature: 0,
  });
  conforms('Response', second);
  assert.equal(second.previous_response_id, first.id);
  const want = promptTokens([
    { role: 'user', content: 'Lily had a red ball.' }, { role: 'assistant', content: first.output_text }, { role: 'user', content: 'What happened next?' },
  ]);
  assert.equal(second.usage!.input_tokens, want.length);
  const cached = second.usage!.input_tokens_details.cached_tokens;
  assert.ok(cached > 0, `cached ${cached}`);
  // at least the whole first prompt, which the second begins with
  assert.ok(cached >= first.usage!.input_tokens - 1, `cached ${cached} of ${first.usage!.input_tokens}`);
  // a third turn follows the whole chain
  const third = await openai.responses.create({ model: MODEL, input: 'And then?', previous_response_id: second.id, max_output_tokens: 4, temperature: 0 });
  assert.equal(third.usage!.input_tokens, promptTokens([
    { role: 'user', content: 'Lily had a red ball.' }, { role: 'assistant', content: first.output_text },
    { role: 'user', content: 'What happened next?' }, { role: 'assistant', content: second.output_text }, { role: 'user', content: 'And then?' },
  ]).length);
});

test('a thinking section is a reasoning item with its summary_text, streamed as reasoning summary events', async () => {
  // The input ends inside an open <think> block (a prefilled assistant turn), so what the model writes is reasoning.
  const input: OpenAI.Responses.ResponseInput = [{ role: 'user', content: 'Think first.' }, { role: 'assistant', content: '<think>\nLet me think' }];
  const r = await openai.responses.create({ model: MODEL, input, max_output_tokens: 8, temperature: 0, reasoning: { effort: 'high' } });
  conforms('Response', r);
  const [reasoning, message] = r.output;
  assert.ok(reasoning.type === 'reasoning', JSON.stringify(r.output));
  assert.match(reasoning.id, /^rs_\w+$/);
  const thought = reasoning.summary.map((p) => p.text).join('');
  assert.ok(thought.length > 0);
  assert.ok(message?.type === 'message');
  assert.equal(r.output_text, '');
  assert.equal(r.usage!.output_tokens_details.reasoning_tokens, 8);
  assert.deepEqual(r.reasoning, { effort: 'high', summary: null });
  const events: OpenAI.Responses.ResponseStreamEvent[] = [];
  for await (const e of await openai.responses.create({ model: MODEL, input, max_output_tokens: 8, temperature: 0, stream: true })) events.push(e);
  for (const e of events) conformingEvent(e);
  const deltas = events.filter((e) => e.type === 'response.reasoning_summary_text.delta').map((e) => e.delta).join('');
  assert.equal(deltas, thought);
  const done = events.find((e) => e.type === 'response.reasoning_summary_text.done');
  assert.ok(done?.type === 'response.reasoning_summary_text.done');
  assert.equal(done.text, thought);
});

const WEATHER = {
  type: 'object' as const,
  properties: { city: { type: 'string', maxLength: 8 }, unit: { enum: ['c', 'f'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const Weather = z.object({ city: z.string().max(8), unit: z.enum(['c', 'f']) });
const tools: OpenAI.Responses.FunctionTool[] = [
  { type: 'function', name: 'get_weather', description: 'Weather in a city', parameters: WEATHER, strict: true },
];

test('a function tool with tool_choice required: a function_call item whose arguments fit the schema; its output continues', async () => {
  const r = await openai.responses.create({
    model: MODEL, input: 'What is the weather in Paris?', tools, tool_choice: 'required', parallel_tool_calls: false, max_output_tokens: 200, ...seed(1), temperature: 0.8,
  });
  conforms('Response', r);
  const calls = r.output.filter((o) => o.type === 'function_call');
  assert.equal(calls.length, 1, JSON.stringify(r.output));
  const call = calls[0];
  assert.ok(call.type === 'function_call');
  assert.equal(call.name, 'get_weather');
  assert.match(call.call_id, /^call_\w+$/);
  assert.match(call.id!, /^fc_\w+$/);
  const validate = ajv.compile(WEATHER);
  assert.ok(validate(JSON.parse(call.arguments)), `${call.arguments}: ${ajv.errorsText(validate.errors)}`);
  assert.equal(r.status, 'completed');
  assert.deepEqual(r.tools, tools);
  assert.equal(r.tool_choice, 'required');
  assert.equal(r.parallel_tool_calls, false);

  // the call's result goes back as a function_call_output item on the stored conversation
  const next = await openai.responses.create({
    model: MODEL, previous_response_id: r.id, tools, max_output_tokens: 4, temperature: 0,
    input: [{ type: 'function_call_output', call_id: call.call_id, output: '18 degrees' }],
  });
  conforms('Response', next);
  const provider = srv.host.ready();
  const tokens = provider.tokenize({
    kind: 'chat',
    messages: [
      { role: 'user', content: 'What is the weather in Paris?' },
      { role: 'assistant', content: '', toolCalls: [{ id: call.call_id, type: 'function', function: { name: 'get_weather', arguments: call.arguments } }] },
      { role: 'tool', content: '18 degrees', toolCallId: call.call_id, name: 'get_weather' },
    ],
    tools: [{ name: 'get_weather', description: 'Weather in a city', parameters: WEATHER }],
  });
  assert.match(provider.info.tokenizer.decode(tokens), /<tool_response>\n18 degrees\n<\/tool_response>/);
  assert.equal(next.usage!.input_tokens, tokens.length);
});

test('a named tool_choice, streamed: the arguments come as function_call_arguments.delta pieces as they are written, adding up to the call', async () => {
  const stream = await openai.responses.create({
    model: MODEL, input: 'Weather?', tools, tool_choice: { type: 'function', name: 'get_weather' }, max_output_tokens: 200, ...seed(2), stream: true,
  });
  const events: OpenAI.Responses.ResponseStreamEvent[] = [];
  for await (const e of stream) events.push(e);
  for (const e of events) conformingEvent(e);
  const added = events.find((e) => e.type === 'response.output_item.added' && e.item.type === 'function_call');
  assert.ok(added, events.map((e) => e.type).join(' '));
  const argDeltas = events.filter((e) => e.type === 'response.function_call_arguments.delta');
  // the arguments stream as the model writes them, not in one piece at the end
  assert.ok(argDeltas.length >= 2, `${argDeltas.length} argument deltas`);
  const pieces = argDeltas.map((e) => e.delta).join('');
  const done = events.find((e) => e.type === 'response.function_call_arguments.done');
  assert.ok(done?.type === 'response.function_call_arguments.done');
  assert.equal(done.arguments, pieces);
  assert.equal(done.name, 'get_weather');
  assert.ok(ajv.validate(WEATHER, JSON.parse(pieces)), pieces);
  const last = events.at(-1)!;
  assert.ok(last.type === 'response.completed');
  const item = last.response.output.find((o) => o.type === 'function_call');
  assert.ok(item?.type === 'function_call');
  assert.equal(item.arguments, pieces);
});

test('text.format json_schema: the output parses and fits the schema', async () => {
  const schema = {
    type: 'object', properties: { name: { type: 'string', maxLength: 12 }, mood: { enum: ['happy', 'sad'] } },
    required: ['name', 'mood'], additionalProperties: false,
  };
  const r = await openai.responses.create({
    model: MODEL, input: 'Tell me about Lily.', max_output_tokens: 100, temperature: 0,
    text: { format: { type: 'json_schema', name: 'person', schema, strict: true } },
  });
  conforms('Response', r);
  assert.ok(ajv.validate(schema, JSON.parse(r.output_text)), r.output_text);
  assert.deepEqual(r.text!.format, { type: 'json_schema', name: 'person', schema, strict: true });
  const obj = await openai.responses.create({ model: MODEL, input: 'JSON please.', max_output_tokens: 60, temperature: 0, text: { format: { type: 'json_object' } } });
  assert.equal(typeof JSON.parse(obj.output_text), 'object');
});

test('stored responses: retrieve, input_items, delete; store false keeps nothing', async () => {
  const r = await openai.responses.create({
    model: MODEL, max_output_tokens: 4, temperature: 0, metadata: { topic: 'ducks' }, user: 'u1',
    input: [{ role: 'user', content: 'One' }, { role: 'assistant', content: 'Two' }, { role: 'user', content: 'Three' }],
  });
  assert.deepEqual(r.metadata, { topic: 'ducks' });
  const got = await openai.responses.retrieve(r.id);
  conforms('Response', got);
  assert.deepEqual(got, r);
  const items = await openai.responses.inputItems.list(r.id);
  const page = await (await fetch(`${srv.base}/v1/responses/${r.id}/input_items`)).json();
  conforms('ResponseItemList', page);
  // newest first by default
  assert.deepEqual(items.data.map((i) => i.type === 'message' && i.role), ['user', 'assistant', 'user']);
  assert.deepEqual(items.data.map((i) => i.type === 'message' && i.content[0].type === 'input_text' ? i.content[0].text : i.type === 'message' && i.content[0].type === 'output_text' && i.content[0].text),
    ['Three', 'Two', 'One']);
  const asc = await (await fetch(`${srv.base}/v1/responses/${r.id}/input_items?order=asc&limit=2`)).json() as { data: { id: string }[]; has_more: boolean; last_id: string };
  assert.equal(asc.data.length, 2);
  assert.equal(asc.has_more, true);
  const rest = await (await fetch(`${srv.base}/v1/responses/${r.id}/input_items?order=asc&after=${asc.last_id}`)).json() as { data: { id: string }[]; has_more: boolean };
  assert.deepEqual([rest.data.length, rest.has_more], [1, false]);

  assert.deepEqual(await openai.responses.delete(r.id), { id: r.id, object: 'response', deleted: true });
  await assert.rejects(openai.responses.retrieve(r.id), (e) => e instanceof OpenAI.NotFoundError);
  const again = await fetch(`${srv.base}/v1/responses/${r.id}`, { method: 'DELETE' });
  assert.equal(again.status, 404);

  const unstored = await openai.responses.create({ model: MODEL, input: 'Hi', max_output_tokens: 2, store: false });
  assert.equal((unstored as { store?: boolean }).store, false);
  await assert.rejects(openai.responses.retrieve(unstored.id), (e) => e instanceof OpenAI.NotFoundError);
  await assert.rejects(openai.responses.create({ model: MODEL, input: 'Hi', previous_response_id: unstored.id }),
    (e) => e instanceof OpenAI.NotFoundError && (e.error as { param?: string }).param === 'previous_response_id');
});

test('what Hearth cannot do is a 400 naming the field; an unknown model is a 404, a body that is not JSON a 415', async () => {
  const refused = async (body: Record<string, unknown>, param: string) => {
    const res = await fetch(`${srv.base}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, input: 'Hi', ...body }) });
    assert.equal(res.status, 400, param);
    const err = (await res.json() as { error: { param: string; message: string; type: string } }).error;
    assert.equal(err.param, param, err.message);
    assert.equal(err.type, 'invalid_request_error');
  };
  await refused({ tools: [{ type: 'web_search' }] }, 'tools[0].type');
  await refused({ background: true }, 'background');
  await refused({ input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://x/y.png' }] }] }, 'input[0].content[0].type');
  await refused({ tool_choice: 'required' }, 'tool_choice');
  await refused({ tools, tool_choice: { type: 'function', name: 'nope' } }, 'tool_choice.name');
  await refused({ text: { format: { type: 'json_schema', name: 'x', schema: { type: 'object', properties: { a: { type: 'string', format: 'email' } } } } } }, 'text.format.schema');
  await refused({ reasoning: { effort: 'extreme' } }, 'reasoning.effort');
  await refused({ conversation: 'conv_1', previous_response_id: 'resp_1' }, 'conversation');
  // An unknown field is ignored and listed (tolerant.test.ts; a --strict server refuses it).
  const extra = await fetch(`${srv.base}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, input: 'Hi', max_output_tokens: 2, frequency: 1 }) });
  assert.equal(extra.status, 200);
  assert.equal(extra.headers.get('hearth-ignored-fields'), 'frequency');
  const unknown = await fetch(`${srv.base}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o', input: 'Hi' }) });
  assert.equal(unknown.status, 404);
  assert.deepEqual(((await unknown.json()) as { error: { param: string; code: string } }).error.code, 'model_not_found');
  const plain = await fetch(`${srv.base}/v1/responses`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ model: MODEL, input: 'Hi' }) });
  assert.equal(plain.status, 415);
  await assert.rejects(openai.responses.create({ model: MODEL, input: [] }), (e) => e instanceof OpenAI.BadRequestError && /input must not be empty/.test(e.message));
});

test('with API keys: a stored response is seen and deleted only with the key that created it', async () => {
  const store = openStore(join(tempDir(), 'hearth.db'));
  const keyed = await startServer({ app: { security: { keys: store.keys }, responses: store.responses } });
  try {
    const a = new OpenAI({ baseURL: `${keyed.base}/v1`, apiKey: store.keys.create({ name: 'a' }).secret, maxRetries: 0 });
    const b = new OpenAI({ baseURL: `${keyed.base}/v1`, apiKey: store.keys.create({ name: 'b' }).secret, maxRetries: 0 });
    const reader = new OpenAI({ baseURL: `${keyed.base}/v1`, apiKey: store.keys.create({ name: 'r', scopes: ['models:read'] }).secret, maxRetries: 0 });
    const r = await a.responses.create({ model: 'stories260K', input: 'Once upon a time', max_output_tokens: 3 });
    assert.equal((await a.responses.retrieve(r.id)).id, r.id);
    await assert.rejects(b.responses.retrieve(r.id), (e) => e instanceof OpenAI.NotFoundError);
    await assert.rejects(b.responses.create({ model: 'stories260K', input: 'x', previous_response_id: r.id }), (e) => e instanceof OpenAI.NotFoundError);
    await assert.rejects(b.responses.delete(r.id), (e) => e instanceof OpenAI.NotFoundError);
    await assert.rejects(reader.responses.create({ model: 'stories260K', input: 'x' }), (e) => e instanceof OpenAI.PermissionDeniedError);
    await assert.rejects(new OpenAI({ baseURL: `${keyed.base}/v1`, apiKey: 'none', maxRetries: 0 }).responses.retrieve(r.id),
      (e) => e instanceof OpenAI.AuthenticationError);
    // the response is in the database file
    assert.equal(store.responses.get(r.id, store.keys.list().find((k) => k.name === 'a')!.id)?.id, r.id);
    await a.responses.delete(r.id);
  } finally {
    await keyed.close();
    store.close();
  }
});

test('the AI SDK\'s OpenAI provider (its default model speaks the Responses API): generateText and streamText', async () => {
  const provider = createOpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'unused' });
  const model = provider(MODEL);
  const r = await generateText({ model, prompt: 'Once upon a time', maxOutputTokens: 12, temperature: 0, maxRetries: 0 });
  const want = await openai.responses.create({ model: MODEL, input: 'Once upon a time', max_output_tokens: 12, temperature: 0 });
  assert.equal(r.text, want.output_text);
  assert.equal(r.usage.inputTokens, want.usage!.input_tokens);
  assert.equal(r.usage.outputTokens, 12);
  assert.equal(r.finishReason, 'length');
  const s = streamText({ model, prompt: 'Once upon a time', maxOutputTokens: 12, temperature: 0, maxRetries: 0 });
  let streamed = '';
  for await (const piece of s.textStream) streamed += piece;
  assert.equal(streamed, want.output_text);
  assert.equal(await s.finishReason, 'length');
  // the next turn: the SDK names its stored assistant message by id (item_reference) rather than sending it again
  assert.match(JSON.stringify(r.response.messages), /"itemId":"msg_\w+"/);
  const next = await generateText({
    model, maxOutputTokens: 4, temperature: 0, maxRetries: 0,
    messages: [{ role: 'user', content: 'Once upon a time' }, ...r.response.messages, { role: 'user', content: 'And then?' }],
  });
  assert.equal(next.usage.inputTokens, promptTokens([
    { role: 'user', content: 'Once upon a time' }, { role: 'assistant', content: r.text }, { role: 'user', content: 'And then?' },
  ]).length);
  // a forced tool call, through the SDK's tool loop types
  const called = await generateText({
    model, prompt: 'What is the weather in Paris?', maxOutputTokens: 200, maxRetries: 0, toolChoice: 'required',
    tools: { get_weather: aiTool({ description: 'Weather in a city', inputSchema: Weather }) },
  });
  const call = called.toolCalls[0];
  assert.ok(call, JSON.stringify(called.content));
  assert.equal(call.toolName, 'get_weather');
  Weather.parse(call.input);
});

test('LangChain ChatOpenAI with useResponsesApi: invoke and stream', async () => {
  const llm = new ChatOpenAI({
    model: MODEL, apiKey: 'unused', configuration: { baseURL: `${srv.base}/v1` }, maxTokens: 12, temperature: 0, maxRetries: 0, useResponsesApi: true,
  });
  const want = await openai.responses.create({ model: MODEL, input: [{ role: 'user', content: 'Once upon a time' }], max_output_tokens: 12, temperature: 0 });
  const msg = await llm.invoke([new HumanMessage('Once upon a time')]);
  assert.equal(msg.text, want.output_text);
  assert.equal(msg.usage_metadata?.input_tokens, want.usage!.input_tokens);
  let acc: AIMessageChunk | undefined;
  for await (const c of await llm.stream([new HumanMessage('Once upon a time')])) acc = acc ? acc.concat(c) : c;
  assert.equal(acc?.text, want.output_text);
  const longer = new ChatOpenAI({
    model: MODEL, apiKey: 'unused', configuration: { baseURL: `${srv.base}/v1` }, maxTokens: 200, maxRetries: 0, useResponsesApi: true,
  });
  const tooled = await longer.bindTools([lcTool(async () => '18', { name: 'get_weather', description: 'Weather in a city', schema: Weather })], { tool_choice: 'get_weather' })
    .invoke('What is the weather in Paris?');
  const call = tooled.tool_calls?.[0];
  assert.ok(call, JSON.stringify(tooled));
  assert.equal(call.name, 'get_weather');
  Weather.parse(call.args);
});
