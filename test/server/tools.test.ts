// Tool calling through the official clients against a live server over stories260K with Qwen3's chat template
// (its <|im_start|> markers are plain text to this vocabulary, which is fine for the grammar and parsing path).
// A forced call (OpenAI tool_choice "required", Anthropic {type: "tool"}) is held to the Hermes call syntax
// by a grammar, so even this weak model makes a valid call; its arguments validate against the tool's schema
// (ajv). Ollama has no tool choice: there the tool-call history round trip is what is checked.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import { Ajv } from 'ajv';
import { sharedPath } from '../shared.ts';
import { startServer, chatTemplateModelPath, type TestServer } from './harness.ts';

const QWEN3_TEMPLATE = (JSON.parse(readFileSync(sharedPath('tokenizers', 'qwen3', 'tokenizer_config.json'), 'utf8')) as { chat_template: string }).chat_template;

let srv: TestServer;
let openai: OpenAI;
let anthropic: Anthropic;
let ollama: Ollama;
const ajv = new Ajv({ strict: false });
const MODEL = 'toolish';

before(async () => {
  srv = await startServer({ path: chatTemplateModelPath(QWEN3_TEMPLATE), alias: MODEL, parallel: 2, nCtx: 2048 });
  openai = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'unused', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: srv.base, apiKey: 'unused', maxRetries: 0 });
  ollama = new Ollama({ host: srv.base });
});
after(() => srv.close());

const WEATHER = {
  type: 'object' as const,
  properties: {
    city: { type: 'string', maxLength: 8 },
    unit: { enum: ['c', 'f'] },
  },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const TIME = {
  type: 'object' as const,
  properties: { zone: { type: 'string', maxLength: 6 } },
  required: ['zone'],
  additionalProperties: false,
};
const SCHEMAS: Record<string, object> = { get_weather: WEATHER, get_time: TIME };

const openaiTools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: WEATHER } },
  { type: 'function', function: { name: 'get_time', description: 'Time in a zone', parameters: TIME } },
];
const messages = [{ role: 'user' as const, content: 'What is the weather in Paris?' }];

function checkCall(name: string, args: unknown): void {
  assert.ok(name in SCHEMAS, `unknown tool ${name}`);
  const validate = ajv.compile(SCHEMAS[name]!);
  assert.ok(validate(args), `${name} ${JSON.stringify(args)}: ${ajv.errorsText(validate.errors)}`);
}

test('openai: tool_choice "required" makes calls whose arguments fit the schema', async () => {
  // One or more calls: this model keeps calling until max_tokens, so the last may be cut off (then it is text).
  const r = await openai.chat.completions.create({
    model: MODEL, messages, tools: openaiTools, tool_choice: 'required', max_tokens: 200, seed: 1, temperature: 0.8,
  });
  const [choice] = r.choices;
  const calls = choice!.message.tool_calls ?? [];
  assert.ok(calls.length >= 1, JSON.stringify(choice));
  for (const c of calls) {
    assert.equal(c.type, 'function');
    assert.match(c.id, /^call_\w+$/);
    if (c.type === 'function') checkCall(c.function.name, JSON.parse(c.function.arguments));
  }
  assert.ok(choice!.finish_reason === 'tool_calls' || choice!.finish_reason === 'length');
});

test('openai: "required" with parallel_tool_calls false makes exactly one call', async () => {
  const r = await openai.chat.completions.create({
    model: MODEL, messages, tools: openaiTools, tool_choice: 'required', parallel_tool_calls: false, max_tokens: 300, seed: 1, temperature: 0.8,
  });
  const [choice] = r.choices;
  const calls = choice!.message.tool_calls ?? [];
  assert.equal(calls.length, 1, JSON.stringify(choice));
  const c = calls[0]!;
  if (c.type === 'function') checkCall(c.function.name, JSON.parse(c.function.arguments));
  assert.equal(choice!.finish_reason, 'tool_calls');
  assert.equal(choice!.message.content, null);
});

test('openai: a named tool_choice, streamed, gives that call through the SDK stream helper', async () => {
  const stream = openai.chat.completions.stream({
    model: MODEL, messages, tools: openaiTools, tool_choice: { type: 'function', function: { name: 'get_time' } }, max_tokens: 300, seed: 2,
  });
  const done = await stream.finalChatCompletion();
  const [choice] = done.choices;
  const calls = choice!.message.tool_calls ?? [];
  assert.equal(calls.length, 1, JSON.stringify(choice));
  const call = calls[0]!;
  assert.ok(call.type === 'function');
  assert.equal(call.function.name, 'get_time');
  checkCall('get_time', JSON.parse(call.function.arguments));
  assert.equal(choice!.finish_reason, 'tool_calls');
});

test('openai: tool_choice none renders without tools and calls nothing; a second grammar is refused', async () => {
  const r = await openai.chat.completions.create({ model: MODEL, messages, tools: openaiTools, tool_choice: 'none', max_tokens: 8 });
  assert.equal(r.choices[0]!.message.tool_calls, undefined);
  await assert.rejects(openai.chat.completions.create({
    model: MODEL, messages, tools: openaiTools, tool_choice: 'required', max_tokens: 8, response_format: { type: 'json_object' },
  }), (e) => e instanceof OpenAI.BadRequestError);
  await assert.rejects(openai.chat.completions.create({
    model: MODEL, messages, tools: openaiTools, tool_choice: { type: 'function', function: { name: 'nope' } }, max_tokens: 8,
  }), (e) => e instanceof OpenAI.BadRequestError && /nope/.test(e.message));
});

test('openai: a history with tool calls and results renders through the Qwen3 template', async () => {
  const history: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
    ...messages,
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '18 degrees' },
  ];
  const r = await openai.chat.completions.create({ model: MODEL, messages: history, tools: openaiTools, max_tokens: 8 });
  assert.equal(r.choices.length, 1);
  const provider = srv.host.ready();
  const prompt = provider.info.tokenizer.decode(provider.tokenize({
    kind: 'chat',
    messages: [
      { role: 'user', content: 'What is the weather in Paris?' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' } }] },
      { role: 'tool', content: '18 degrees', toolCallId: 'call_1' },
    ],
    tools: [{ name: 'get_weather', description: 'Weather in a city', parameters: WEATHER }],
  }));
  assert.match(prompt, /<tools>\n\{"type": "function", "function": \{"name": "get_weather"/);
  assert.match(prompt, /<tool_call>\n\{"name": "get_weather", "arguments": \{"city":"Paris","unit":"c"\}\}\n<\/tool_call>/);
  assert.match(prompt, /<tool_response>\n18 degrees\n<\/tool_response>/);
  assert.match(prompt, /<\|im_start\|>assistant\n$/);
});

test('anthropic: tool_choice {type: "tool"}, streamed, gives a tool_use block through finalMessage()', async () => {
  const stream = anthropic.messages.stream({
    model: MODEL, max_tokens: 300, messages, tool_choice: { type: 'tool', name: 'get_weather' },
    tools: [
      { name: 'get_weather', description: 'Weather in a city', input_schema: WEATHER },
      { name: 'get_time', description: 'Time in a zone', input_schema: TIME },
    ],
  });
  let pieces = 0;
  stream.on('streamEvent', (ev) => {
    if (ev.type === 'content_block_delta' && ev.delta.type === 'input_json_delta') pieces++;
  });
  const msg = await stream.finalMessage();
  assert.ok(pieces > 1, `the input came in ${pieces} input_json_delta(s), not as it was written`);
  const uses = msg.content.filter((b) => b.type === 'tool_use');
  assert.equal(uses.length, 1, JSON.stringify(msg.content));
  const use = uses[0]!;
  assert.ok(use.type === 'tool_use');
  assert.equal(use.name, 'get_weather');
  assert.match(use.id, /^toolu_\w+$/);
  checkCall('get_weather', use.input);
  assert.equal(msg.stop_reason, 'tool_use');
});

test('anthropic: a forced call without streaming, and a tool_use / tool_result history', async () => {
  const tools = [{ name: 'get_time', input_schema: TIME }];
  const msg = await anthropic.messages.create({ model: MODEL, max_tokens: 300, messages, tools, tool_choice: { type: 'any' } });
  const use = msg.content.find((b) => b.type === 'tool_use');
  assert.ok(use && use.type === 'tool_use', JSON.stringify(msg.content));
  checkCall(use.name, use.input);
  const next = await anthropic.messages.create({
    model: MODEL, max_tokens: 8, tools,
    messages: [
      ...messages,
      { role: 'assistant', content: [{ type: 'text', text: 'Let me look.' }, { type: 'tool_use', id: use.id, name: use.name, input: use.input }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'noon' }] },
    ],
  });
  assert.equal(next.type, 'message');
  const counted = await anthropic.messages.countTokens({ model: MODEL, messages, tools });
  const bare = await anthropic.messages.countTokens({ model: MODEL, messages });
  assert.ok(counted.input_tokens > bare.input_tokens, 'the tools are in the counted prompt');
});

test('ollama: chat with tools answers; a history with tool_calls and a tool message round-trips', async () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: WEATHER } }];
  const r = await ollama.chat({ model: MODEL, messages, tools, stream: false, options: { num_predict: 200, seed: 3 } });
  assert.ok(r.done_reason === 'stop' || r.done_reason === 'length');
  for (const c of r.message.tool_calls ?? []) checkCall(c.function.name, c.function.arguments);
  const history = [
    ...messages,
    { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris', unit: 'c' } } }] },
    { role: 'tool', content: '18 degrees', tool_name: 'get_weather' },
  ];
  const next = await ollama.chat({ model: MODEL, messages: history, tools, stream: false, options: { num_predict: 8 } });
  assert.equal(next.done, true);
  const streamed = await ollama.chat({ model: MODEL, messages: history, tools, stream: true, options: { num_predict: 8 } });
  let last;
  for await (const part of streamed) last = part;
  assert.equal(last?.done, true);
});

test('openai: streamed deltas add up: one chunk opens each call (id, name, arguments ""), later ones carry its arguments in pieces', async () => {
  const stream = await openai.chat.completions.create({
    model: MODEL, messages, tools: openaiTools, tool_choice: 'required', parallel_tool_calls: false, max_tokens: 300, seed: 4, stream: true,
  });
  const calls: { id?: string; name?: string; arguments: string }[] = [];
  let finish: string | null = null;
  let opened = 0;
  let pieces = 0;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    finish = choice.finish_reason ?? finish;
    for (const d of choice.delta.tool_calls ?? []) {
      if (d.id !== undefined) {
        opened++;
        assert.equal(d.function?.arguments, '');
        calls[d.index] = { id: d.id, name: d.function?.name, arguments: '' };
      } else {
        calls[d.index]!.arguments += d.function?.arguments ?? '';
        pieces++;
      }
    }
  }
  assert.equal(opened, 1);
  assert.ok(pieces > 1, `the arguments came in ${pieces} piece(s), not as they were written`);
  assert.equal(finish, 'tool_calls');
  checkCall(calls[0]!.name!, JSON.parse(calls[0]!.arguments));
});

test("reasoning_effort reaches Qwen3's enable_thinking: none closes the think block in the prompt, high leaves it open", async () => {
  const ask = async (reasoning_effort: 'none' | 'high') => {
    const r = await fetch(`${srv.base}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1, reasoning_effort }),
    });
    assert.equal(r.status, 200);
    return ((await r.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens;
  };
  const promptOf = (vars: Record<string, unknown>) => srv.host.ready().tokenize!({ kind: 'chat', messages: [{ role: 'user', content: 'hi' }], templateVars: vars }).length;
  assert.equal(await ask('none'), promptOf({ enable_thinking: false }));
  assert.equal(await ask('high'), promptOf({ enable_thinking: true }));
  assert.ok(await ask('none') > await ask('high'), 'the empty <think></think> block is in the prompt');
});

test('reasoning without tools: a thinking section goes to reasoning_content (OpenAI) and thinking blocks (Anthropic, streamed too)', async () => {
  // The reply continues an assistant turn that opened <think>, so what the model writes is reasoning.
  const prefill = [...messages, { role: 'assistant' as const, content: '<think>\nThe user' }];
  const chat = await openai.chat.completions.create({ model: MODEL, messages: prefill, max_tokens: 12, seed: 3 });
  const msg = chat.choices[0]!.message as typeof chat.choices[0]['message'] & { reasoning_content?: string };
  assert.ok(msg.reasoning_content && msg.reasoning_content.length > 0, JSON.stringify(msg));
  assert.doesNotMatch(msg.content ?? '', /<think>|<\/think>/);

  const body = { model: MODEL, max_tokens: 12, messages: prefill };
  const m = await anthropic.messages.create(body);
  const thinking = m.content.find((b) => b.type === 'thinking');
  assert.ok(thinking && thinking.type === 'thinking' && thinking.thinking.length > 0, JSON.stringify(m.content));
  assert.equal(m.content[0]!.type, 'thinking', 'thinking comes first');
  const stream = anthropic.messages.stream(body);
  let deltas = 0;
  stream.on('thinking', () => deltas++);
  const streamed = await stream.finalMessage();
  assert.ok(deltas > 0);
  const streamedThinking = streamed.content.filter((b) => b.type === 'thinking');
  assert.equal(streamedThinking.length, 1, JSON.stringify(streamed.content));
  assert.ok(streamedThinking[0]!.type === 'thinking' && streamedThinking[0]!.thinking.length > 0);

  // Sent back in the history, thinking blocks are accepted (and reach a template that keeps reasoning).
  const next = await anthropic.messages.create({
    model: MODEL, max_tokens: 1025, stop_sequences: [' '], thinking: { type: 'enabled', budget_tokens: 1024 },
    messages: [...messages, { role: 'assistant', content: m.content.filter((b) => b.type !== 'tool_use') as Anthropic.ContentBlockParam[] }, { role: 'user', content: 'And?' }],
  }).catch((e: unknown) => e);
  assert.ok(!(next instanceof Error), String(next));
});
