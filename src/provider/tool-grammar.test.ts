import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sampler from '../engine/sampler/index.ts';
import { parseGbnf } from '../engine/sampler/index.ts';
import { automatonFor, DEAD } from '../engine/sampler/grammar/automaton.ts';
import { parseToolOutput } from '../chat/tool-parsers.ts';
import type { ToolFamily, ToolSpec } from '../chat/tools.ts';
import { isHearthError } from '../util/errors.ts';
import { lazyToolGrammar, prefixRules, toolChoiceGrammar } from './tool-grammar.ts';

const compile = sampler.jsonSchemaToGbnf;

function accepts(gbnf: string, text: string): boolean {
  const a = automatonFor(parseGbnf(gbnf));
  let s = a.initial;
  for (const b of new TextEncoder().encode(text)) {
    s = a.next(s, b);
    if (s === DEAD) return false;
  }
  return a.isComplete(s);
}

const tools: ToolSpec[] = [
  { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
  { name: 'get_time', parameters: { type: 'object', properties: {} } },
];

/** Outputs that follow each family's syntax exactly, with one and with two calls. */
const outputs: Record<ToolFamily, [one: string, two: string | undefined]> = {
  hermes: [
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>',
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>\n<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>',
  ],
  llama3: ['{"name": "get_weather", "parameters": {"city": "Oslo"}}', undefined],
  mistral: [
    '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Oslo"}, "id": "abcDEF123"}]',
    '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Oslo"}, "id": "abcDEF123"}, {"name": "get_time", "arguments": {}, "id": "000000000"}]',
  ],
  deepseek: [
    '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Oslo"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
    '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Oslo"}\n```<｜tool▁call▁end｜>\n' +
      '<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
  ],
  generic: [
    '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}',
    '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}, {"name": "get_time", "arguments": {}}]}',
  ],
};

test('prefixRules renames definitions and references, not literals, classes or repetitions', () => {
  const g = 'root ::= "{" space item{1,2} "root" [a-z]\nitem ::= "x" space # item root\nspace ::= " "?\n';
  assert.equal(prefixRules(g, 't0-'), 't0-root ::= "{" t0-space t0-item{1,2} "root" [a-z]\nt0-item ::= "x" t0-space # item root\nt0-space ::= " "?\n');
});

test('auto and none need no grammar; unknown names and empty tools are refused', () => {
  const schemaToGbnf = () => 'root ::= "{}"';
  assert.equal(toolChoiceGrammar('hermes', tools, 'auto', { schemaToGbnf }), undefined);
  assert.equal(toolChoiceGrammar('hermes', tools, 'none', { schemaToGbnf }), undefined);
  assert.throws(() => toolChoiceGrammar('hermes', tools, { name: 'nope' }, { schemaToGbnf }),
    (e) => isHearthError(e, 'invalid_argument') && /"nope", which is not in tools \(get_weather, get_time\)/.test(e.message));
  assert.throws(() => toolChoiceGrammar('hermes', [], 'required', { schemaToGbnf }), (e) => isHearthError(e, 'invalid_argument'));
});

test('required: each family\'s calls match, parse back into the calls, and other text does not', () => {
  for (const family of Object.keys(outputs) as ToolFamily[]) {
    const g = toolChoiceGrammar(family, tools, 'required', { schemaToGbnf: compile })!;
    const [one, two] = outputs[family];
    assert.ok(accepts(g, one), `${family} one call`);
    assert.equal(parseToolOutput(family, one).toolCalls.length, 1);
    if (two) {
      assert.ok(accepts(g, two), `${family} two calls`);
      assert.deepEqual(parseToolOutput(family, two).toolCalls.map((c) => c.name), ['get_weather', 'get_time']);
    }
    assert.ok(!accepts(g, 'Hello'), `${family} plain text`);
    assert.ok(!accepts(g, one.replace('"city": "Oslo"', '"city": 3')), `${family} arguments off the schema`);
    assert.ok(!accepts(g, one.replace('get_weather', 'get_wind')), `${family} unknown tool`);
  }
});

test('a named function: exactly one call of it', () => {
  const g = toolChoiceGrammar('hermes', tools, { name: 'get_time' }, { schemaToGbnf: compile })!;
  assert.ok(accepts(g, '<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>'));
  assert.ok(!accepts(g, outputs.hermes[0]));
  assert.ok(!accepts(g, '<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>\n<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>'));
});

test('the newer spellings, picked from the template: Mistral [ARGS] and DeepSeek V3.1', () => {
  const m = toolChoiceGrammar('mistral', tools, 'required', { schemaToGbnf: compile!, template: "{{ '[TOOL_CALLS]' + name + '[ARGS]' }}" })!;
  const two = '[TOOL_CALLS]get_weather[ARGS]{"city": "Oslo"}[TOOL_CALLS]get_time[ARGS]{}';
  assert.ok(accepts(m, two));
  assert.deepEqual(parseToolOutput('mistral', two).toolCalls.map((c) => c.name), ['get_weather', 'get_time']);
  const d = toolChoiceGrammar('deepseek', tools, { name: 'get_weather' }, {
    schemaToGbnf: compile!, template: "{{'<｜tool▁call▁begin｜>'+ tool['function']['name'] + '<｜tool▁sep｜>' }}",
  })!;
  const one = '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Oslo"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>';
  assert.ok(accepts(d, one));
  assert.deepEqual(parseToolOutput('deepseek', one).toolCalls, [{ name: 'get_weather', arguments: '{"city":"Oslo"}' }]);
});

test('allowReasoning: a <think> block may come first', () => {
  const g = toolChoiceGrammar('hermes', tools, 'required', { schemaToGbnf: compile!, allowReasoning: true })!;
  assert.ok(accepts(g, '<think>\nIt is <b>cold</b> there </thin\n</think>\n\n' + outputs.hermes[0]));
  assert.ok(accepts(g, outputs.hermes[0]));
  assert.ok(!accepts(g, '<think>\nunclosed ' + outputs.hermes[0]));
});

test('openReasoning: the prompt opened <think>, so the output closes it before the calls', () => {
  const g = toolChoiceGrammar('hermes', tools, 'required', { schemaToGbnf: compile!, openReasoning: true })!;
  assert.ok(accepts(g, 'It is cold.\n</think>\n\n' + outputs.hermes[0]));
  assert.ok(accepts(g, '</think>' + outputs.hermes[0]));
  assert.ok(!accepts(g, outputs.hermes[0]));
});

test('auto: a lazy grammar from the word that opens the calls, where the family has one', () => {
  for (const family of ['hermes', 'mistral', 'deepseek'] as const) {
    const lazy = lazyToolGrammar(family, tools)!;
    const [one, two] = outputs[family];
    assert.ok(one.startsWith(lazy.triggers[0]!), `${family}: the calls begin with the trigger`);
    assert.ok(accepts(lazy.grammar, one) && accepts(lazy.grammar, one + '\n'), `${family}: one call`);
    assert.ok(accepts(lazy.grammar, two!), `${family}: two calls`);
    assert.ok(!accepts(lazy.grammar, one.replace('Oslo"', 'Oslo')), `${family}: malformed arguments are refused`);
    assert.ok(!accepts(lazyToolGrammar(family, tools, { single: true })!.grammar, two!), `${family}: single`);
  }
  assert.equal(lazyToolGrammar('llama3', tools), undefined);
  assert.equal(lazyToolGrammar('generic', tools), undefined);
  assert.equal(lazyToolGrammar('hermes', []), undefined);
});
