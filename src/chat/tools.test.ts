import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Template } from '@huggingface/jinja';
import { sharedPath } from '../../test/shared.ts';
import { chatConfigFromTokenizerConfig, type HfChatConfig } from './hf-config.ts';
import { renderChatTemplate, type ChatMessage } from './template.ts';
import { detectToolFamily, genericToolNote, hfTools, templateToolShape, toolListNote, type ToolSpec } from './tools.ts';

function config(name: string): HfChatConfig & { template: string } {
  const c = chatConfigFromTokenizerConfig(JSON.parse(readFileSync(sharedPath('tokenizers', name, 'tokenizer_config.json'), 'utf8')));
  assert.ok(c.template, `${name} has a chat template`);
  return { ...c, template: c.template };
}

const tools: ToolSpec[] = [{
  name: 'get_weather', description: 'Weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}];

/** A conversation with a tool call and its result, as a caller builds it (arguments as JSON text). */
const conversation: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Weather in Oslo?' },
  { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
  { role: 'tool', content: '{"temp":3}', toolCallId: 'call_1', name: 'get_weather' },
];

function render(name: string, messages: ChatMessage[], withTools: ToolSpec[] | undefined): string {
  const c = config(name);
  return renderChatTemplate(c.template, messages, {
    addGenerationPrompt: true, bosToken: c.bosToken, eosToken: c.eosToken, tools: withTools,
  });
}

/** The template run by @huggingface/jinja itself on HF-shaped inputs: the check that does not go through our mapping. */
function renderDirect(name: string, vars: Record<string, unknown>): string {
  const c = config(name);
  return new Template(c.template).render({ add_generation_prompt: true, bos_token: c.bosToken ?? '', eos_token: c.eosToken ?? '', ...vars });
}

const hfCall = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } };

test('tool family of the shipped templates and of each syntax', () => {
  assert.equal(detectToolFamily(config('qwen3').template), 'hermes');
  assert.equal(detectToolFamily(config('deepseek_v3').template), 'deepseek');
  // Llama 3.0's and Gemma 3's templates have no tool syntax.
  assert.equal(detectToolFamily(config('llama3').template), 'generic');
  assert.equal(detectToolFamily(config('gemma3').template), 'generic');
  assert.equal(detectToolFamily(undefined), 'generic');
  assert.equal(detectToolFamily('{{- "<|python_tag|>" + tool_call.name }}'), 'llama3');
  assert.equal(detectToolFamily('<|start_header_id|>{% if tools %}{"name": function name, "parameters": dictionary}{% endif %}'), 'llama3');
  assert.equal(detectToolFamily('{{ "[TOOL_CALLS][" }}'), 'mistral');
  assert.equal(detectToolFamily('<|start_header_id|>{% if tools %}<tool_call>\n{"name": {% endif %}'), 'hermes');
  // XML arguments inside <tool_call> (Qwen3-Coder, GLM) are not Hermes JSON.
  assert.equal(detectToolFamily('<tool_call>\n<function={{ name }}>\n<parameter=x>'), 'generic');
});

test('template tool shape: arguments as given to Qwen3, as text to DeepSeek V3, as an object where tojson writes them', () => {
  assert.deepEqual(templateToolShape(config('qwen3').template), { arguments: 'as-given', nullContentForCalls: false });
  assert.deepEqual(templateToolShape(config('deepseek_v3').template), { arguments: 'string', nullContentForCalls: true });
  assert.equal(templateToolShape('{{ tool_call.arguments | tojson }}').arguments, 'object');
});

test('Qwen 3 (hermes): tools, a call and its result render as the template writes them', () => {
  const out = render('qwen3', conversation, tools);
  assert.equal(out,
    '<|im_start|>system\nBe brief.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n' +
    'You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n' +
    '{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city", "parameters": ' +
    '{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}\n</tools>\n\n' +
    'For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n' +
    '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n' +
    '<|im_start|>user\nWeather in Oslo?<|im_end|>\n' +
    '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city":"Oslo"}}\n</tool_call><|im_end|>\n' +
    '<|im_start|>user\n<tool_response>\n{"temp":3}\n</tool_response><|im_end|>\n' +
    '<|im_start|>assistant\n');
  assert.equal(out, renderDirect('qwen3', {
    tools: hfTools(tools),
    messages: [
      { role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: '', tool_calls: [hfCall] },
      { role: 'tool', content: '{"temp":3}', tool_call_id: 'call_1', name: 'get_weather' },
    ],
  }));
});

test('DeepSeek V3: calls under content none, arguments as text, and the tool list its template never writes as a system note', () => {
  const out = render('deepseek_v3', conversation, tools);
  const note = toolListNote('deepseek', tools);
  assert.equal(out,
    '<｜begin▁of▁sentence｜>Be brief.\n\n' + note +
    '<｜User｜>Weather in Oslo?' +
    // The template closes the calls block only after a second call; one call is written without it.
    '<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city":"Oslo"}\n```<｜tool▁call▁end｜>' +
    '<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>{"temp":3}<｜tool▁output▁end｜><｜tool▁outputs▁end｜>');
  assert.ok(note.startsWith('You can call these tools:\n[{"type":"function","function":{"name":"get_weather"'));
  assert.equal(out, renderDirect('deepseek_v3', {
    messages: [
      { role: 'system', content: 'Be brief.\n\n' + note }, { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: null, tool_calls: [hfCall] },
      { role: 'tool', content: '{"temp":3}', tool_call_id: 'call_1' },
    ],
  }));
});

const genericCall = '{"tool_calls":[{"name":"get_weather","arguments":{"city":"Oslo"},"id":"call_1"}]}';
const genericResult = '{"tool_response":{"tool":"get_weather","tool_call_id":"call_1","content":"{\\"temp\\":3}"}}';

test('Llama 3.0 (generic): the note joins the system prompt, the call is the JSON reply, the result a user turn', () => {
  assert.equal(render('llama3', conversation, tools),
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.\n\n' + genericToolNote(tools) + '<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\nWeather in Oslo?<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\n' + genericCall + '<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\n' + genericResult + '<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\n');
  assert.equal(genericToolNote(tools),
    'You can call these tools:\n' +
    '{"name":"get_weather","description":"Weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}\n\n' +
    'To call one or more tools, reply with only this JSON and nothing else:\n' +
    '{"tool_calls": [{"name": "<tool name>", "arguments": {<arguments as the tool\'s parameters describe>}}]}\n' +
    'Otherwise reply in plain text.');
});

test('Gemma 3 (generic): results of parallel calls make one user turn, so roles still alternate', () => {
  const msgs: ChatMessage[] = [
    { role: 'user', content: 'Weather in Oslo and Bergen?' },
    {
      role: 'assistant', content: '', toolCalls: [
        { id: 'a', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
        { id: 'b', function: { name: 'get_weather', arguments: { city: 'Bergen' } } },
      ],
    },
    { role: 'tool', content: '3', toolCallId: 'a' },
    { role: 'tool', content: '5', toolCallId: 'b' },
  ];
  assert.equal(render('gemma3', msgs, tools),
    '<bos><start_of_turn>user\n' + genericToolNote(tools) + '\n\nWeather in Oslo and Bergen?<end_of_turn>\n' +
    '<start_of_turn>model\n{"tool_calls":[{"name":"get_weather","arguments":{"city":"Oslo"},"id":"a"},' +
    '{"name":"get_weather","arguments":{"city":"Bergen"},"id":"b"}]}<end_of_turn>\n' +
    '<start_of_turn>user\n{"tool_response":{"tool_call_id":"a","content":"3"}}\n' +
    '{"tool_response":{"tool_call_id":"b","content":"5"}}<end_of_turn>\n' +
    '<start_of_turn>model\n');
});

test('Llama 3.1-style templates get arguments as an object for tojson', () => {
  const t = '{% for m in messages %}{% for c in m.tool_calls %}{{ c.function.arguments | tojson }}|{% endfor %}{% endfor %}' +
    '{% for t in tools %}<|python_tag|>{{ t.function.name }}{% endfor %}';
  const msgs: ChatMessage[] = [{ role: 'assistant', content: '', toolCalls: [{ function: { name: 'f', arguments: '{"a":1}' } }] }];
  assert.equal(renderChatTemplate(t, msgs, { addGenerationPrompt: false, tools }), '{"a": 1}|<|python_tag|>get_weather');
});

test('no tools: the render is unchanged', () => {
  const plain: ChatMessage[] = [{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }];
  for (const name of ['qwen3', 'deepseek_v3', 'llama3', 'gemma3']) {
    assert.equal(render(name, plain, []), render(name, plain, undefined), name);
  }
  assert.equal(render('llama3', plain, undefined),
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n');
});
