import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  collectToolEvents, parseToolOutput, promptOpensReasoning, ToolCallStreamParser, type ParsedOutput, type ToolParserOptions,
  type ToolStreamEvent,
} from './tool-parsers.ts';
import type { ToolFamily } from './tools.ts';

const weather = { name: 'get_weather', arguments: '{"city":"Oslo"}' };
const time = { name: 'get_time', arguments: '{}' };

/** Canned outputs in each family's syntax and what they parse to. */
const cases: { family: ToolFamily; text: string; want: ParsedOutput; opts?: ToolParserOptions }[] = [
  {
    family: 'hermes',
    text: '<think>\nThe user wants weather.\n</think>\n\nLet me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>\n' +
      '<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>',
    want: { content: 'Let me check.', toolCalls: [weather, time], reasoning: 'The user wants weather.' },
  },
  { family: 'hermes', text: 'Plain answer, no tools.\n\nSecond paragraph.', want: { content: 'Plain answer, no tools.\n\nSecond paragraph.', toolCalls: [] } },
  // Arguments some models write as a quoted JSON string count as the object inside.
  { family: 'hermes', text: '<tool_call>{"name": "get_weather", "arguments": "{\\"city\\": \\"Oslo\\"}"}</tool_call>', want: { content: '', toolCalls: [weather] } },
  // Malformed JSON inside the markers stays content.
  {
    family: 'hermes', text: 'Hi <tool_call>\n{"name": get_weather}\n</tool_call> there',
    want: { content: 'Hi <tool_call>\n{"name": get_weather}\n</tool_call> there', toolCalls: [] },
  },
  // The model stopped on its end of turn before the closing marker: the complete JSON still counts.
  { family: 'hermes', text: '<tool_call>\n{"name": "get_time", "arguments": {}}\n', want: { content: '', toolCalls: [time] } },
  // Cut off mid-call: content.
  { family: 'hermes', text: 'A <tool_call>\n{"name": "get_ti', want: { content: 'A <tool_call>\n{"name": "get_ti', toolCalls: [] } },
  { family: 'llama3', text: '{"name": "get_weather", "parameters": {"city": "Oslo"}}', want: { content: '', toolCalls: [weather] } },
  { family: 'llama3', text: '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Oslo"}}', want: { content: '', toolCalls: [weather] } },
  // Llama 3.1's built-in tools: name.call(key=value) with Python literals.
  {
    family: 'llama3', text: '<|python_tag|>brave_search.call(query="weather in \\"Oslo\\"")',
    want: { content: '', toolCalls: [{ name: 'brave_search', arguments: '{"query":"weather in \\"Oslo\\""}' }] },
  },
  {
    family: 'llama3', text: "<|python_tag|>wolfram_alpha.call(query='2+2', n=3, exact=True, unit=None)",
    want: { content: '', toolCalls: [{ name: 'wolfram_alpha', arguments: '{"query":"2+2","n":3,"exact":true,"unit":null}' }] },
  },
  { family: 'llama3', text: '<|python_tag|>print(1)', want: { content: '<|python_tag|>print(1)', toolCalls: [] } },
  { family: 'llama3', text: ' {"answer": 42} is JSON', want: { content: '{"answer": 42} is JSON', toolCalls: [] } },
  { family: 'llama3', text: 'Use {"name": "x"} like so', want: { content: 'Use {"name": "x"} like so', toolCalls: [] } },
  {
    family: 'mistral', text: 'Sure. [TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Oslo"}, "id": "abc123XYZ"}, {"name": "get_time", "arguments": {}}]',
    want: { content: 'Sure.', toolCalls: [{ ...weather, id: 'abc123XYZ' }, time] },
  },
  {
    family: 'mistral', text: '[TOOL_CALLS]get_weather[ARGS]{"city": "Oslo"}[TOOL_CALLS]get_time[ARGS]{}',
    want: { content: '', toolCalls: [weather, time] },
  },
  {
    family: 'mistral', text: 'Ok.[TOOL_CALLS]get_weather[CALL_ID]a1b2c3d4e[ARGS]{"city": "Oslo"}',
    want: { content: 'Ok.', toolCalls: [{ ...weather, id: 'a1b2c3d4e' }] },
  },
  { family: 'mistral', text: 'See [TOOL_CALLS] above', want: { content: 'See [TOOL_CALLS] above', toolCalls: [] } },
  {
    family: 'deepseek',
    text: 'Checking.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Oslo"}\n```<｜tool▁call▁end｜>\n' +
      '<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
    want: { content: 'Checking.', toolCalls: [weather, time] },
  },
  // DeepSeek V3.1 drops the type and the fence.
  {
    family: 'deepseek', text: '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Oslo"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
    want: { content: '', toolCalls: [weather] },
  },
  {
    family: 'deepseek', text: '<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": \n```<｜tool▁call▁end｜>',
    want: { content: '<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": \n```<｜tool▁call▁end｜>', toolCalls: [] },
  },
  // DeepSeek-R1: the prompt opened the reasoning block.
  {
    family: 'deepseek', opts: { startInReasoning: true },
    text: 'Need the weather.\n</think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city":"Oslo"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
    want: { content: '', toolCalls: [weather], reasoning: 'Need the weather.' },
  },
  { family: 'generic', text: '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}, {"name": "get_time", "arguments": {}}]}', want: { content: '', toolCalls: [weather, time] } },
  { family: 'generic', text: '\n{"tool_call": {"name": "get_time", "arguments": {}}}', want: { content: '', toolCalls: [time] } },
  {
    family: 'generic', text: '<think>\nA tool, then.\n</think>\n{"tool_calls": [{"name": "get_time", "arguments": {}}]}',
    want: { content: '', toolCalls: [time], reasoning: 'A tool, then.' },
  },
  { family: 'generic', text: 'It is sunny in Oslo.\n', want: { content: 'It is sunny in Oslo.', toolCalls: [] } },
  { family: 'generic', text: '{"tool_calls": "nope"}', want: { content: '{"tool_calls": "nope"}', toolCalls: [] } },
];

/** A small seeded generator, so a failing split can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function streamed(family: ToolFamily, chunks: string[], opts?: ToolParserOptions): ToolStreamEvent[] {
  const p = new ToolCallStreamParser(family, opts);
  return [...chunks.flatMap((c) => p.push(c)), ...p.finish()];
}

function randomChunks(text: string, next: () => number): string[] {
  const cps = [...text]; // split between code points, as decoded token text arrives
  const out: string[] = [];
  for (let i = 0; i < cps.length;) {
    const n = 1 + Math.floor(next() * 6);
    out.push(cps.slice(i, i + n).join(''));
    i += n;
  }
  return out;
}

test('canned outputs parse into their content, calls and reasoning', () => {
  for (const c of cases) assert.deepEqual(parseToolOutput(c.family, c.text, c.opts), c.want, `${c.family}: ${JSON.stringify(c.text)}`);
});

test('the stream, fed random-sized chunks, adds up to the one-shot parse', () => {
  const next = rng(1234);
  for (const c of cases) {
    for (let trial = 0; trial < 30; trial++) {
      const chunks = randomChunks(c.text, next);
      assert.deepEqual(collectToolEvents(streamed(c.family, chunks, c.opts)), c.want, `${c.family} split ${JSON.stringify(chunks)}`);
    }
    // One code point at a time, the hardest case for holding back.
    assert.deepEqual(collectToolEvents(streamed(c.family, [...c.text], c.opts)), c.want, c.family);
  }
});

test('text that may start a marker is held back until the next delta settles it', () => {
  const p = new ToolCallStreamParser('hermes');
  assert.deepEqual(p.push('Hello <tool_'), [{ type: 'content', text: 'Hello' }]);
  assert.deepEqual(p.push('box> is a tag'), [{ type: 'content', text: ' <tool_box> is a tag' }]);
  assert.deepEqual(p.finish(), []);

  const q = new ToolCallStreamParser('hermes');
  assert.deepEqual(q.push('Ok\n<tool_'), [{ type: 'content', text: 'Ok' }]);
  assert.deepEqual(q.push('call>\n{"name": "get_time", '), []);
  assert.deepEqual(q.push('"arguments": {}}\n</tool_call>'), [
    { type: 'tool_call_start', index: 0, name: 'get_time' },
    { type: 'tool_call_args', index: 0, text: '{}' },
    { type: 'tool_call_end', index: 0 },
  ]);
  assert.deepEqual(q.finish(), []);
});

test('reasoning streams as it comes, apart from content', () => {
  const p = new ToolCallStreamParser('hermes');
  assert.deepEqual(p.push('<think>\nStep one'), [{ type: 'reasoning', text: 'Step one' }]);
  assert.deepEqual(p.push(', step two.\n</thi'), [{ type: 'reasoning', text: ', step two.' }]);
  assert.deepEqual(p.push('nk>\n\nAnswer'), [{ type: 'content', text: 'Answer' }]);
  assert.deepEqual(p.finish(), []);
});

test('a leading JSON value is held whole before it is known to be a call or content', () => {
  const p = new ToolCallStreamParser('llama3');
  assert.deepEqual(p.push('{"name": "get_weather", "parameters": {"ci'), []);
  assert.deepEqual(p.push('ty": "Oslo"}}'), [
    { type: 'tool_call_start', index: 0, name: 'get_weather' },
    { type: 'tool_call_args', index: 0, text: '{"city":"Oslo"}' },
    { type: 'tool_call_end', index: 0 },
  ]);
});

test('promptOpensReasoning: a rendered prompt that ends inside <think>', () => {
  assert.equal(promptOpensReasoning('<｜Assistant｜><think>\n'), true);
  assert.equal(promptOpensReasoning('<|im_start|>assistant\n<think>\n\n</think>\n\n'), false);
  assert.equal(promptOpensReasoning('<|im_start|>assistant\n'), false);
});

test('any text parses the same however it is split (random texts from marker and JSON pieces)', () => {
  const pieces = [
    '<tool_call>', '</tool_call>', '<tool_', '<think>', '</think>', '<', '{', '}', '[', ']', '"', '\\', ' ', '\n', 'x',
    '{"name": "f", "arguments": {}}', '{"name": "f", "parameters": {"a": "}"}}', '<|python_tag|>', '[TOOL_CALLS]', '[ARGS]',
    '[{"name": "f", "arguments": {}}]', 'f', '<｜tool▁calls▁begin｜>', '<｜tool▁call▁begin｜>', '<｜tool▁call▁end｜>',
    '<｜tool▁sep｜>', 'function', '```json\n', '\n```', '{"tool_calls": [{"name": "f", "arguments": {}}]}', 'é', '日本',
  ];
  const next = rng(99);
  for (const family of ['hermes', 'llama3', 'mistral', 'deepseek', 'generic'] as ToolFamily[]) {
    for (let n = 0; n < 300; n++) {
      let text = '';
      const len = Math.floor(next() * 12);
      for (let i = 0; i < len; i++) text += pieces[Math.floor(next() * pieces.length)];
      const want = parseToolOutput(family, text);
      const got = collectToolEvents(streamed(family, randomChunks(text, next)));
      assert.deepEqual(got, want, `${family}: ${JSON.stringify(text)}`);
    }
  }
});

test('streamCalls: a call is reported as it is written, and its pieces add up to the one-shot parse', () => {
  const next = rng(99);
  // Output under a call grammar: not the cases where a malformed block stays content (a begun call is reported).
  const wellFormed = cases.filter((c) => !/<tool_call>|<｜tool▁call▁begin｜>|\[TOOL_CALLS\]/.test(c.want.content));
  assert.ok(wellFormed.length > cases.length / 2);
  for (const c of wellFormed) {
    const opts = { ...c.opts, streamCalls: true };
    for (const chunks of [[...c.text], randomChunks(c.text, next)]) {
      assert.deepEqual(collectToolEvents(streamed(c.family, chunks, opts)), c.want, `${c.family} split ${JSON.stringify(chunks)}`);
    }
  }
  // Per family, a call's name comes before its block ends and its arguments in pieces, compact.
  const long = { city: 'Oslo', days: [1, 2, 3], note: 'a "quoted" \\ text, with }{ inside' };
  const compact = JSON.stringify(long);
  const written = JSON.stringify(long, null, 1);
  const outputs: [ToolFamily, string][] = [
    ['hermes', `<tool_call>\n{"name": "get_weather", "arguments": ${written}}\n</tool_call>`],
    ['llama3', `{"name": "get_weather", "parameters": ${written}}`],
    ['mistral', `[TOOL_CALLS]get_weather[ARGS]${written}`],
    ['deepseek', `<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n\`\`\`json\n${written}\n\`\`\`<｜tool▁call▁end｜><｜tool▁calls▁end｜>`],
    ['generic', `{"tool_calls": [{"name": "get_weather", "arguments": ${written}}]}`],
  ];
  for (const [family, text] of outputs) {
    const p = new ToolCallStreamParser(family, { streamCalls: true });
    const events: ToolStreamEvent[] = [];
    let startedAt = -1;
    [...text].forEach((ch, i) => {
      for (const e of p.push(ch)) {
        if (e.type === 'tool_call_start' && startedAt < 0) startedAt = i;
        events.push(e);
      }
    });
    events.push(...p.finish());
    const args = events.filter((e) => e.type === 'tool_call_args');
    assert.ok(startedAt >= 0 && startedAt < text.indexOf('Oslo'), `${family}: the call starts before its arguments are written`);
    assert.ok(args.length > 10, `${family}: ${args.length} argument pieces`);
    assert.deepEqual(collectToolEvents(events).toolCalls, [{ name: 'get_weather', arguments: compact }], family);
  }
});
