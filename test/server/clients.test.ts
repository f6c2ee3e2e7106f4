// The rest of the client matrix against a live server over stories260K with a chat template: the AI SDK's
// OpenAI provider on chat completions (`.chat`) and its Anthropic provider, LlamaIndex's OpenAI and Ollama
// LLMs, and curl. Each asks the same greedy question, streamed and not, and must get the text the server's
// own chat completion gives. (The openai, ollama and Anthropic SDKs, LangChain's three chat models, the AI SDK's
// openai-compatible, Ollama and Responses providers are in openai/ollama/anthropic/frameworks/responses tests.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { generateText, streamText } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { createAnthropic } from '@ai-sdk/anthropic';
import { OpenAI as LlamaIndexOpenAI } from '@llamaindex/openai';
import { Ollama as LlamaIndexOllama } from '@llamaindex/ollama';
import { startServer, chatTemplateModelPath, type TestServer } from './harness.ts';

let srv: TestServer;
const MODEL = 'matrix';
const QUESTION = 'Tell me a story.';
const TOKENS = 12;
let want = '';

before(async () => {
  srv = await startServer({ path: chatTemplateModelPath(), alias: MODEL, parallel: 2 });
  const r = await fetch(`${srv.base}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: QUESTION }], max_tokens: TOKENS, temperature: 0 }),
  });
  want = ((await r.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
  assert.ok(want.length > 0);
});
after(() => srv.close());

async function all(stream: AsyncIterable<string>): Promise<string> {
  let s = '';
  for await (const piece of stream) s += piece;
  return s;
}

test('AI SDK: the OpenAI provider on chat completions and the Anthropic provider, generateText and streamText', async () => {
  const openai = createOpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'unused' });
  const anthropic = createAnthropic({ baseURL: `${srv.base}/v1`, apiKey: 'unused' });
  for (const model of [openai.chat(MODEL), anthropic(MODEL)]) {
    const settings = { model, prompt: QUESTION, temperature: 0, maxOutputTokens: TOKENS, maxRetries: 0 };
    const { text } = await generateText(settings);
    assert.equal(text, want, `${model.provider} generateText`);
    assert.equal(await all(streamText(settings).textStream), want, `${model.provider} streamText`);
  }
});

test('LlamaIndex: OpenAI and Ollama chat, streamed and not; Ollama complete', async () => {
  const messages = [{ role: 'user' as const, content: QUESTION }];
  const oa = new LlamaIndexOpenAI({ model: MODEL, apiKey: 'unused', baseURL: `${srv.base}/v1`, temperature: 0, maxTokens: TOKENS, maxRetries: 0 });
  assert.equal((await oa.chat({ messages })).message.content, want, 'openai chat');
  const oaStream = await oa.chat({ messages, stream: true });
  assert.equal(await all((async function* () { for await (const c of oaStream) yield c.delta; })()), want, 'openai chat stream');

  const ol = new LlamaIndexOllama({ model: MODEL, config: { host: srv.base }, options: { temperature: 0, num_predict: TOKENS } });
  assert.equal((await ol.chat({ messages })).message.content, want, 'ollama chat');
  const olStream = await ol.chat({ messages, stream: true });
  assert.equal(await all((async function* () { for await (const c of olStream) yield c.delta; })()), want, 'ollama chat stream');
  const done = await ol.complete({ prompt: 'Once upon a time' });
  assert.ok(done.text.length > 0);
});

test('curl: a chat completion, and the same streamed as server-sent events', async () => {
  const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: QUESTION }], max_tokens: TOKENS, temperature: 0 });
  // Asynchronously: the server runs in this process.
  const curl = async (json: string) => (await promisify(execFile)('curl',
    ['-sS', '--fail-with-body', `${srv.base}/v1/chat/completions`, '-H', 'content-type: application/json', '-d', json])).stdout;
  assert.equal((JSON.parse(await curl(body)) as { choices: { message: { content: string } }[] }).choices[0]!.message.content, want);
  const sse = await curl(JSON.stringify({ ...JSON.parse(body), stream: true }));
  const lines = sse.split('\n').filter((l) => l.startsWith('data: '));
  assert.equal(lines.at(-1), 'data: [DONE]');
  const text = lines.slice(0, -1).map((l) => (JSON.parse(l.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '').join('');
  assert.equal(text, want);
});
