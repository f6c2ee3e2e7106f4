// The provider's tool path with the engine scripted: a chat prompt with tools gets its reply read into
// content, reasoning and calls (streamed as each call completes), a forced call gets the family's grammar,
// and tool_choice "none" renders without tools and reads nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sharedPath } from '../../test/shared.ts';
import { chatTemplateModelPath } from '../../test/server/harness.ts';
import { openModelInfo } from '../engine/model-info.ts';
import type { JobSpec } from '../engine/scheduler.ts';
import type { NativeEvent, NativeRequest, PromptInput } from '../api/native.ts';
import { promptTokens, startGeneration, type SubmitJobs } from './local-generation.ts';

const QWEN3 = (JSON.parse(readFileSync(sharedPath('tokenizers', 'qwen3', 'tokenizer_config.json'), 'utf8')) as { chat_template: string }).chat_template;
const model = openModelInfo(chatTemplateModelPath(QWEN3));
const tools = [{ name: 'f', parameters: { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] } }];

const request = (prompt: Partial<PromptInput & { kind: 'chat' }>, over: Partial<NativeRequest> = {}): NativeRequest => ({
  model: 'm', prompts: [{ kind: 'chat', messages: [{ role: 'user', content: 'hi' }], tools, ...prompt }], n: 1,
  sampling: {}, stop: [], stream: true, ...over,
});

/** A submit that plays `pieces` as generated text, and keeps the specs it was given. */
function scripted(pieces: string[]): { submit: SubmitJobs; specs: JobSpec[] } {
  const specs: JobSpec[] = [];
  const submit: SubmitJobs = async (s, onEvent) => {
    specs.push(...s);
    queueMicrotask(() => {
      for (const text of pieces) onEvent(0, { type: 'token', id: 1, text });
      onEvent(0, {
        type: 'done', reason: 'eog', stopSequence: null, usage: { promptTokens: 3, completionTokens: pieces.length, cachedTokens: 0 },
        timings: { queueMs: 0, promptMs: 0, generateMs: 0 },
      });
    });
  };
  return { submit, specs };
}

const REPLY = ['<think>\nhm', 'm\n</think>\n\n', 'Sure.', '\n<tool_', 'call>\n{"name": "f", ', '"arguments": {"a": 1}}\n</tool_call>'];

test('auto: the reply is read into reasoning, content and a call; finish reason tool_calls', async () => {
  const { submit, specs } = scripted(REPLY);
  const run = await startGeneration(model, 0, submit, request({}));
  const events: NativeEvent[] = [];
  for await (const ev of run.events) events.push(ev);
  // Auto mode: free text, and a lazy grammar that holds a call to the Hermes syntax from <tool_call> on.
  assert.deepEqual(specs[0]!.sampling?.grammarTriggers, ['<tool_call>']);
  assert.match(specs[0]!.sampling?.grammar ?? '', /^root ::= call \("\\n" call\)\* "\\n"\?$/m);
  const pieces = events.filter((e) => e.type === 'tool_call_delta');
  assert.equal(pieces.map((e) => (e.type === 'tool_call_delta' ? e.arguments : '')).join(''), '{"a":1}');
  const calls = events.filter((e) => e.type === 'tool_call');
  assert.equal(calls.length, 1);
  const call = calls[0]!;
  assert.ok(call.type === 'tool_call');
  assert.match(call.id, /^call_\w{16}$/);
  assert.deepEqual([call.call, call.name, call.arguments], [0, 'f', '{"a":1}']);
  const text = events.map((e) => (e.type === 'delta' ? e.text : '')).join('');
  assert.equal(text, 'Sure.');
  assert.equal(events.map((e) => (e.type === 'reasoning' ? e.text : '')).join(''), 'hmm');
  const done = events.at(-1)!;
  assert.ok(done.type === 'done');
  assert.deepEqual([done.result.text, done.result.reasoning, done.result.reason], ['Sure.', 'hmm', 'tool_calls']);
  assert.deepEqual(done.result.toolCalls, [{ id: call.id, name: 'f', arguments: '{"a":1}' }]);
});

test('required and named choices get the Hermes call grammar; with another grammar they are refused', async () => {
  for (const toolChoice of ['required', { name: 'f' }] as const) {
    const { submit, specs } = scripted([]);
    await (await startGeneration(model, 0, submit, request({ toolChoice }))).collect();
    assert.match(specs[0]!.sampling?.grammar ?? '', /<tool_call>/);
  }
  const { submit } = scripted([]);
  await assert.rejects(startGeneration(model, 0, submit, request({ toolChoice: 'required' }, { sampling: { grammar: 'root ::= "x"' } })),
    /forces a call/);
  await assert.rejects(startGeneration(model, 0, submit, request({ toolChoice: { name: 'g' } })), /"g", which is not in tools/);
});

test('none: the prompt has no tools and the reply is not read', async () => {
  const decode = (p: PromptInput) => model.tokenizer.decode(promptTokens(model, p));
  assert.match(decode(request({}).prompts[0]!), /<tools>/);
  assert.doesNotMatch(decode(request({ toolChoice: 'none' }).prompts[0]!), /<tools>/);
  const { submit } = scripted(REPLY);
  const [r] = await (await startGeneration(model, 0, submit, request({ toolChoice: 'none' }))).collect();
  assert.equal(r!.text, REPLY.join(''));
  assert.equal(r!.toolCalls, undefined);
  assert.equal(r!.reason, 'eog');
});
