import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chatRequestFromOllama, generateRequestFromOllama, ollamaResponse, ollamaStreamEvent, ns } from './generate.ts';
import { readOllamaOptions } from './options.ts';
import { ThinkingSplitter } from './thinking.ts';
import { Fields } from '../validate.ts';
import type { ChoiceResult } from '../native.ts';

test('generate request: chat template by default, raw text with raw or context, stream defaults to true', () => {
  const r = generateRequestFromOllama({ model: 'm', prompt: 'Hi', system: 'S', options: { num_predict: 5, temperature: 0.2, seed: 3, stop: ['x'] } });
  assert.deepEqual(r.native.prompts, [{ kind: 'chat', messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'Hi' }] }]);
  assert.equal(r.native.stream, true);
  assert.equal(r.native.maxTokens, 5);
  assert.deepEqual(r.native.stop, ['x']);
  assert.equal(r.native.sampling.seed, 3);
  assert.equal(r.loadOnly, false);
  assert.deepEqual(generateRequestFromOllama({ model: 'm', prompt: 'Hi', raw: true }).native.prompts, [{ kind: 'text', text: 'Hi', context: undefined }]);
  assert.deepEqual(generateRequestFromOllama({ model: 'm', prompt: 'Hi', context: [1, 2] }).native.prompts, [{ kind: 'text', text: 'Hi', context: [1, 2] }]);
  assert.equal(generateRequestFromOllama({ model: 'm' }).loadOnly, true);
  assert.equal(chatRequestFromOllama({ model: 'm', messages: [] }).loadOnly, true);
});

test('options: num_predict -1/-2 mean no limit, negative seed means random, load-time options are accepted', () => {
  const o = (v: object) => readOllamaOptions(new Fields(v, 'options'));
  assert.equal(o({ num_predict: -1 }).maxTokens, undefined);
  assert.equal(o({ num_predict: -2 }).maxTokens, undefined);
  assert.equal(o({ num_predict: 0 }).maxTokens, 0);
  assert.equal(o({ seed: -1 }).sampling.seed, undefined);
  assert.equal(o({ num_ctx: 512, num_thread: 4, use_mmap: true, mirostat: 0, tfs_z: 1 }).numCtx, 512);
  assert.deepEqual(o({ mirostat: 2, mirostat_tau: 3, mirostat_eta: 0.2 }).sampling,
    { temperature: undefined, topK: undefined, topP: undefined, minP: undefined, repeatPenalty: undefined, repeatLastN: undefined,
      presencePenalty: undefined, frequencyPenalty: undefined, seed: undefined, mirostat: 2, mirostatTau: 3, mirostatEta: 0.2 });
  assert.throws(() => o({ mirostat: 3 }), /options\.mirostat must be <= 2/);
  assert.throws(() => o({ tfs_z: 0.9 }), /options\.tfs_z is not supported/);
});

const result: ChoiceResult = {
  index: 0, promptIndex: 0, text: 'abc', tokens: [9, 8], reason: 'eog', stopSequence: null,
  usage: { promptTokens: 3, completionTokens: 2, cachedTokens: 0 },
  timings: { queueMs: 0.5, promptMs: 1.25, generateMs: 2, totalMs: 4, firstTokenMs: 2, loadMs: 10 },
  promptTokens: [1, 2, 3],
};

test('responses: timings in integer nanoseconds, context = prompt + generated, done_reason', () => {
  const now = new Date(0);
  const g = ollamaResponse('generate', 'm', result, now);
  assert.deepEqual(g, {
    model: 'm', created_at: '1970-01-01T00:00:00.000Z', response: 'abc', done: true, done_reason: 'stop', context: [1, 2, 3, 9, 8],
    total_duration: 4_000_000, load_duration: 500_000, prompt_eval_count: 3, prompt_eval_duration: 1_250_000, eval_count: 2, eval_duration: 2_000_000,
  });
  const c = ollamaResponse('chat', 'm', { ...result, reason: 'length' }, now);
  assert.deepEqual(c.message, { role: 'assistant', content: 'abc' });
  assert.equal(c.done_reason, 'length');
  assert.equal('context' in c, false);
  assert.equal(ns(0.0004), 400);
  const [line] = ollamaStreamEvent('chat', 'm', { type: 'delta', index: 0, text: 'a', tokens: [] }, now);
  assert.deepEqual(line, { model: 'm', created_at: now.toISOString(), message: { role: 'assistant', content: 'a' }, done: false });
  const [last] = ollamaStreamEvent('generate', 'm', { type: 'done', index: 0, result }, now);
  assert.equal(last.response, '');
  assert.equal(last.done, true);
});

test('think true/false is the chat template\'s enable_thinking; levels are refused', () => {
  const r = chatRequestFromOllama({ model: 'm', messages: [{ role: 'user', content: 'x' }], think: false });
  assert.equal(r.think, false);
  assert.deepEqual(r.native.prompts, [{ kind: 'chat', messages: [{ role: 'user', content: 'x' }], templateVars: { enable_thinking: false } }]);
  const g = generateRequestFromOllama({ model: 'm', prompt: 'x', think: true });
  assert.equal(g.think, true);
  assert.deepEqual(g.native.prompts, [{ kind: 'chat', messages: [{ role: 'user', content: 'x' }], templateVars: { enable_thinking: true } }]);
  assert.equal(chatRequestFromOllama({ model: 'm', messages: [] }).think, undefined);
  assert.throws(() => chatRequestFromOllama({ model: 'm', messages: [], think: 'high' }), /thinking levels \("high"\) are not implemented/);
  assert.throws(() => chatRequestFromOllama({ model: 'm', messages: [], think: 1 }), /think must be true or false/);
});

test('chat: tool_choice "auto" (what Ollama does anyway) is accepted; another choice is refused naming it', () => {
  const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }];
  const r = chatRequestFromOllama({ model: 'm', messages: [{ role: 'user', content: 'x' }], tools, tool_choice: 'auto' });
  const [p] = r.native.prompts;
  assert.ok(p?.kind === 'chat' && p.tools?.[0]?.name === 'f' && p.toolChoice === undefined);
  for (const tool_choice of ['required', 'none', { type: 'function', name: 'f' }]) {
    assert.throws(() => chatRequestFromOllama({ model: 'm', messages: [], tools, tool_choice }), (e: any) => e.param === 'tool_choice' && /only "auto" is accepted/.test(e.message));
  }
});

test('think: true answers put the think block in thinking, streamed or not', () => {
  const now = new Date(0);
  const text = '<think>\nponder\n</think>\n\nanswer';
  const c = ollamaResponse('chat', 'm', { ...result, text }, now, true);
  assert.deepEqual(c.message, { role: 'assistant', content: 'answer', thinking: 'ponder\n' });
  const g = ollamaResponse('generate', 'm', { ...result, text }, now, true);
  assert.deepEqual([g.response, g.thinking], ['answer', 'ponder\n']);
  // without think the text is left alone
  assert.deepEqual(ollamaResponse('chat', 'm', { ...result, text }, now).message, { role: 'assistant', content: text });
  const splitter = new ThinkingSplitter();
  const lines = [...['<thi', 'nk>\npon', 'der\n</th', 'ink>\n\nans', 'wer'].flatMap((t) =>
    ollamaStreamEvent('chat', 'm', { type: 'delta', index: 0, text: t, tokens: [] }, now, splitter)),
  ...ollamaStreamEvent('chat', 'm', { type: 'done', index: 0, result: { ...result, text } }, now, splitter)];
  const messages = lines.map((l) => l.message as { content: string; thinking?: string });
  assert.equal(messages.map((m) => m.thinking ?? '').join(''), 'ponder\n');
  assert.equal(messages.map((m) => m.content).join(''), 'answer');
  assert.equal(lines.at(-1)!.done, true);
});

test('tools: chat request tools and call history; tool_calls in the answer and the stream', () => {
  const r = chatRequestFromOllama({
    model: 'm', tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
    messages: [
      { role: 'user', content: 'x' },
      { role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: { a: 1 } } }] },
      { role: 'tool', content: 'ok', tool_name: 'f' },
    ],
  });
  assert.deepEqual(r.native.prompts, [{
    kind: 'chat',
    messages: [
      { role: 'user', content: 'x' },
      { role: 'assistant', content: '', toolCalls: [{ type: 'function', function: { name: 'f', arguments: { a: 1 } } }] },
      { role: 'tool', content: 'ok' },
    ],
    tools: [{ name: 'f', parameters: { type: 'object' } }],
  }]);
  assert.throws(() => generateRequestFromOllama({ model: 'm', prompt: 'x', tools: [{ type: 'function', function: { name: 'f' } }] }), /tools are for \/api\/chat/);
  const res: ChoiceResult = {
    index: 0, promptIndex: 0, text: '', tokens: [1], reason: 'tool_calls', stopSequence: null, toolCalls: [{ id: 'call_1', name: 'f', arguments: '{"a":1}' }],
    usage: { promptTokens: 2, completionTokens: 1, cachedTokens: 0 },
    timings: { queueMs: 0, promptMs: 1, generateMs: 1, totalMs: 2, firstTokenMs: 1, loadMs: 0 }, promptTokens: [1, 2],
  };
  const out = ollamaResponse('chat', 'm', res, new Date(0));
  assert.deepEqual(out.message, { role: 'assistant', content: '', tool_calls: [{ function: { index: 0, name: 'f', arguments: { a: 1 } } }] });
  assert.equal(out.done_reason, 'stop');
  const [line] = ollamaStreamEvent('chat', 'm', { type: 'tool_call', index: 0, call: 0, id: 'call_1', name: 'f', arguments: '{"a":1}' }, new Date(0));
  assert.deepEqual(line.message, { role: 'assistant', content: '', tool_calls: [{ function: { index: 0, name: 'f', arguments: { a: 1 } } }] });
  assert.equal(line.done, false);
});
