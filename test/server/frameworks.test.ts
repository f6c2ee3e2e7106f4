// Tool calling and structured output through the client libraries agent frameworks build on (LangChain's
// ChatOpenAI, ChatOllama and ChatAnthropic; the AI SDK's OpenAI-compatible and Ollama providers) against a live
// server over stories260K with Qwen3's chat template. Every call or object is forced by a grammar (a required or
// named tool choice, a json_schema response format, an Ollama format schema), so the weak model still gives a
// valid one, streamed or not; each is checked against its zod schema.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { tool as lcTool } from '@langchain/core/tools';
import { AIMessage, AIMessageChunk, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { ChatOllama } from '@langchain/ollama';
import { ChatAnthropic } from '@langchain/anthropic';
import { generateObject, generateText, streamObject, streamText, tool as aiTool } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { createOllama } from 'ollama-ai-provider-v2';
import { sharedPath } from '../shared.ts';
import { startServer, chatTemplateModelPath, type TestServer } from './harness.ts';

const QWEN3_TEMPLATE = (JSON.parse(readFileSync(sharedPath('tokenizers', 'qwen3', 'tokenizer_config.json'), 'utf8')) as { chat_template: string }).chat_template;

let srv: TestServer;
const MODEL = 'framed';

before(async () => {
  srv = await startServer({ path: chatTemplateModelPath(QWEN3_TEMPLATE), alias: MODEL, parallel: 2, nCtx: 2048 });
});
after(() => srv.close());

const Weather = z.object({ city: z.string().max(8), unit: z.enum(['c', 'f']) });
const Person = z.object({ name: z.string().max(12), mood: z.enum(['happy', 'sad', 'sleepy']) });
const QUESTION = 'What is the weather in Paris?';

const weatherTool = lcTool(async ({ city }) => `18 degrees in ${city}`, {
  name: 'get_weather', description: 'Weather in a city', schema: Weather,
});

test('langchain ChatOpenAI: bindTools with a required and a named tool choice', async () => {
  const llm = new ChatOpenAI({ model: MODEL, apiKey: 'unused', configuration: { baseURL: `${srv.base}/v1` }, maxTokens: 200, maxRetries: 0, temperature: 0.8 });
  for (const tool_choice of ['required', 'get_weather'] as const) {
    const msg = await llm.bindTools([weatherTool], { tool_choice, parallel_tool_calls: false }).invoke(QUESTION);
    const call = msg.tool_calls?.[0];
    assert.ok(call, JSON.stringify(msg));
    assert.equal(call.name, 'get_weather');
    Weather.parse(call.args);
    assert.ok(call.id);
  }
});

/** A streamed answer's chunks added up, as LangChain's agents do. */
async function concatenated(stream: AsyncIterable<AIMessageChunk>): Promise<AIMessageChunk> {
  let acc: AIMessageChunk | undefined;
  for await (const c of stream) acc = acc ? acc.concat(c) : c;
  assert.ok(acc);
  return acc;
}

test('langchain ChatOpenAI and ChatAnthropic: a forced call, streamed, adds up to a valid tool call', async () => {
  const openai = new ChatOpenAI({ model: MODEL, apiKey: 'unused', configuration: { baseURL: `${srv.base}/v1` }, maxTokens: 200, maxRetries: 0 });
  const anthropic = new ChatAnthropic({ model: MODEL, apiKey: 'unused', anthropicApiUrl: srv.base, maxTokens: 200, maxRetries: 0 });
  for (const msg of [
    await concatenated(await openai.bindTools([weatherTool], { tool_choice: 'get_weather' }).stream(QUESTION)),
    await concatenated(await anthropic.bindTools([weatherTool], { tool_choice: { type: 'tool', name: 'get_weather' } }).stream(QUESTION)),
  ]) {
    const call = msg.tool_calls?.[0];
    assert.ok(call, JSON.stringify(msg));
    assert.equal(call.name, 'get_weather');
    Weather.parse(call.args);
  }
});

test('langchain ChatOpenAI: withStructuredOutput (jsonSchema, functionCalling, and the default)', async () => {
  const llm = new ChatOpenAI({ model: MODEL, apiKey: 'unused', configuration: { baseURL: `${srv.base}/v1` }, maxTokens: 300, maxRetries: 0, temperature: 0 });
  Person.parse(await llm.withStructuredOutput(Person, { method: 'jsonSchema', name: 'person' }).invoke('Tell me about Lily.'));
  Person.parse(await llm.withStructuredOutput(Person, { method: 'functionCalling', name: 'person' }).invoke('Tell me about Lily.'));
  Person.parse(await llm.withStructuredOutput(Person, { name: 'person' }).invoke('Tell me about Lily.'));
});

test('langchain ChatOllama: withStructuredOutput, tools, and a tool-call history', async () => {
  const llm = new ChatOllama({ model: MODEL, baseUrl: srv.base, numPredict: 300, temperature: 0 });
  Person.parse(await llm.withStructuredOutput(Person, { name: 'person' }).invoke('Tell me about Lily.'));
  // No tool choice in Ollama's API: whatever calls the model makes must fit; the history round trip must answer.
  const bound = llm.bindTools([weatherTool]);
  const first = await bound.invoke(QUESTION);
  for (const c of first.tool_calls ?? []) { assert.equal(c.name, 'get_weather'); Weather.parse(c.args); }
  const next = await bound.invoke([
    new HumanMessage(QUESTION),
    new AIMessage({ content: '', tool_calls: [{ id: 'call_1', name: 'get_weather', args: { city: 'Paris', unit: 'c' } }] }),
    new ToolMessage({ content: '18 degrees', tool_call_id: 'call_1' }),
  ]);
  assert.equal(typeof next.content, 'string');
});

test('langchain ChatAnthropic: bindTools with a forced tool, and withStructuredOutput', async () => {
  const llm = new ChatAnthropic({ model: MODEL, apiKey: 'unused', anthropicApiUrl: srv.base, maxTokens: 300, maxRetries: 0 });
  const msg = await llm.bindTools([weatherTool], { tool_choice: { type: 'tool', name: 'get_weather' } }).invoke(QUESTION);
  const call = msg.tool_calls?.[0];
  assert.ok(call, JSON.stringify(msg));
  assert.equal(call.name, 'get_weather');
  Weather.parse(call.args);
  Person.parse(await llm.withStructuredOutput(Person, { name: 'person' }).invoke('Tell me about Lily.'));
});

test('ai sdk openai-compatible: generateObject, streamObject, generateText with a required tool, streamText with a named one', async () => {
  const hearth = createOpenAICompatible({ baseURL: `${srv.base}/v1`, name: 'hearth', supportsStructuredOutputs: true });
  const { object } = await generateObject({ model: hearth(MODEL), schema: Person, prompt: 'Tell me about Lily.', maxOutputTokens: 300, temperature: 0, maxRetries: 0 });
  Person.parse(object);
  const streamed = streamObject({ model: hearth(MODEL), schema: Person, prompt: 'Tell me about Lily.', maxOutputTokens: 300, temperature: 0.7, maxRetries: 0 });
  let partials = 0;
  for await (const _ of streamed.partialObjectStream) partials++;
  assert.ok(partials >= 1);
  Person.parse(await streamed.object);
  const r = await generateText({
    model: hearth(MODEL), prompt: QUESTION, toolChoice: 'required', maxOutputTokens: 200, maxRetries: 0,
    tools: { get_weather: aiTool({ description: 'Weather in a city', inputSchema: Weather }) },
  });
  const call = r.toolCalls[0];
  assert.ok(call, JSON.stringify(r.response.body ?? r.text));
  assert.equal(call.toolName, 'get_weather');
  Weather.parse(call.input);
  const streamedText = streamText({
    model: hearth(MODEL), prompt: QUESTION, toolChoice: { type: 'tool', toolName: 'get_weather' }, maxOutputTokens: 200, maxRetries: 0,
    tools: { get_weather: aiTool({ description: 'Weather in a city', inputSchema: Weather }) },
  });
  for await (const _ of streamedText.fullStream);
  const [streamedCall] = await streamedText.toolCalls;
  assert.ok(streamedCall);
  assert.equal(streamedCall.toolName, 'get_weather');
  Weather.parse(streamedCall.input);
});

test('ai sdk ollama provider: generateObject with the sampling settings in options, and tools', async () => {
  const ollama = createOllama({ baseURL: `${srv.base}/api` });
  const { object } = await generateObject({
    model: ollama(MODEL), schema: Person, prompt: 'Tell me about Lily.', maxRetries: 0,
    providerOptions: { ollama: { options: { temperature: 0, num_predict: 300 } } },
  });
  Person.parse(object);
  // With tools it sends tool_choice "auto" (Ollama's only behaviour); whatever calls the model makes must fit.
  const r = await generateText({
    model: ollama(MODEL), prompt: QUESTION, maxRetries: 0, providerOptions: { ollama: { options: { num_predict: 200, seed: 3 } } },
    tools: { get_weather: aiTool({ description: 'Weather in a city', inputSchema: Weather }) },
  });
  assert.ok(r.finishReason === 'stop' || r.finishReason === 'length' || r.finishReason === 'tool-calls', r.finishReason);
  for (const c of r.toolCalls) { assert.equal(c.toolName, 'get_weather'); Weather.parse(c.input); }
});

test('ai sdk ollama provider: temperature and maxOutputTokens (sent at the top level) are honoured', async () => {
  // This provider sends temperature, top_p and max_output_tokens at the top level of /api/chat, where Ollama's API
  // has no such fields (Ollama drops them unread); here they act as the options they name.
  const ollama = createOllama({ baseURL: `${srv.base}/api` });
  const prompt = 'Tell me a story about Lily.';
  const a = await generateText({ model: ollama(MODEL), prompt, temperature: 0, maxOutputTokens: 3, maxRetries: 0 });
  assert.ok(a.text.length > 0);
  assert.ok(a.usage.outputTokens! >= 1 && a.usage.outputTokens! <= 3, JSON.stringify(a.usage));
  assert.equal(a.finishReason, 'length');
  // temperature 0 is greedy: the same request gives the same text, streamed or not.
  const b = await generateText({ model: ollama(MODEL), prompt, temperature: 0, maxOutputTokens: 3, maxRetries: 0 });
  assert.equal(b.text, a.text);
  const s = streamText({ model: ollama(MODEL), prompt, temperature: 0, maxOutputTokens: 3, maxRetries: 0 });
  let streamed = '';
  for await (const part of s.textStream) streamed += part;
  assert.equal(streamed, a.text);
  const usage = await s.usage;
  assert.ok(usage.outputTokens! <= 3, JSON.stringify(usage));
  // A longer limit gives a longer answer: the limit, not something else, stopped the first.
  const c = await generateText({ model: ollama(MODEL), prompt, temperature: 0, maxOutputTokens: 12, maxRetries: 0 });
  assert.ok(c.usage.outputTokens! > 3, JSON.stringify(c.usage));
  assert.ok(c.text.startsWith(a.text), `${JSON.stringify(c.text)} should start with ${JSON.stringify(a.text)}`);
});
