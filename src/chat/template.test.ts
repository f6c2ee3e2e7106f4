import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sharedPath } from '../../test/shared.ts';
import { isHearthError } from '../util/errors.ts';
import { chatConfigFromTokenizerConfig } from './hf-config.ts';
import { renderChatTemplate, type ChatMessage } from './template.ts';

const conversation: ChatMessage[] = [
  { role: 'system', content: 'You are helpful.' },
  { role: 'user', content: 'Hi there' },
  { role: 'assistant', content: 'Hello! How can I help?' },
  { role: 'user', content: 'Tell me a joke.' },
];

function render(family: string, messages: ChatMessage[], extra?: Record<string, unknown>, addGenerationPrompt = true): string {
  const config = JSON.parse(readFileSync(sharedPath('tokenizers', family, 'tokenizer_config.json'), 'utf8'));
  const { template, bosToken, eosToken } = chatConfigFromTokenizerConfig(config);
  assert.ok(template, `${family} has a chat template`);
  return renderChatTemplate(template, messages, { addGenerationPrompt, bosToken, eosToken, extra });
}

test('Llama 3 template', () => {
  assert.equal(render('llama3', conversation),
    '<|begin_of_text|>' +
    '<|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\nHello! How can I help?<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\n');
});

test('Qwen 3 template (ChatML)', () => {
  const expected =
    '<|im_start|>system\nYou are helpful.<|im_end|>\n' +
    '<|im_start|>user\nHi there<|im_end|>\n' +
    '<|im_start|>assistant\nHello! How can I help?<|im_end|>\n' +
    '<|im_start|>user\nTell me a joke.<|im_end|>\n' +
    '<|im_start|>assistant\n';
  assert.equal(render('qwen3', conversation), expected);
  // Without the generation prompt the last header is not written.
  assert.equal(render('qwen3', conversation, undefined, false), expected.slice(0, -'<|im_start|>assistant\n'.length));
  // Extra variables reach the template: enable_thinking=false writes an empty think block.
  assert.equal(render('qwen3', conversation, { enable_thinking: false }), expected + '<think>\n\n</think>\n\n');
});

test('Qwen 3 drops reasoning from earlier assistant turns', () => {
  const msgs: ChatMessage[] = [
    { role: 'user', content: 'Q1' },
    { role: 'assistant', content: '<think>\nponder\n</think>\n\nA1' },
    { role: 'user', content: 'Q2' },
  ];
  assert.equal(render('qwen3', msgs),
    '<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n' +
    '<|im_start|>assistant\n');
});

test('Qwen 3 renders tools and tool calls', () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }];
  const msgs: ChatMessage[] = [
    { role: 'user', content: 'Weather?' },
    { role: 'assistant', content: '', toolCalls: [{ function: { name: 'get_weather', arguments: { city: 'Oslo' } } }] },
    { role: 'tool', content: '{"temp": 3}', toolCallId: 'c1' },
  ];
  const out = render('qwen3', msgs, { tools });
  assert.ok(out.startsWith('<|im_start|>system\n# Tools\n'));
  assert.ok(out.includes('<tools>\n{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}\n</tools>'));
  assert.ok(out.includes('<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call><|im_end|>\n'));
  assert.ok(out.endsWith('<|im_start|>user\n<tool_response>\n{"temp": 3}\n</tool_response><|im_end|>\n<|im_start|>assistant\n'));
});

test('Gemma 3 folds the system prompt into the first user turn', () => {
  assert.equal(render('gemma3', conversation),
    '<bos><start_of_turn>user\nYou are helpful.\n\nHi there<end_of_turn>\n' +
    '<start_of_turn>model\nHello! How can I help?<end_of_turn>\n' +
    '<start_of_turn>user\nTell me a joke.<end_of_turn>\n' +
    '<start_of_turn>model\n');
});

test('Gemma 3 raises on roles that do not alternate: template_error naming the cause', () => {
  const bad: ChatMessage[] = [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }];
  assert.throws(() => render('gemma3', bad), (e) =>
    isHearthError(e, 'template_error') && /raised.*Conversation roles must alternate/.test(e.message));
});

test('DeepSeek V3 template (AddedToken bos in the config)', () => {
  assert.equal(render('deepseek_v3', conversation),
    '<｜begin▁of▁sentence｜>You are helpful.' +
    '<｜User｜>Hi there<｜Assistant｜>Hello! How can I help?<｜end▁of▁sentence｜>' +
    '<｜User｜>Tell me a joke.<｜Assistant｜>');
});

test('syntax and runtime errors are template_error', () => {
  assert.throws(() => renderChatTemplate('{% if %}', [], { addGenerationPrompt: true }),
    (e) => isHearthError(e, 'template_error') && /does not parse/.test(e.message));
  assert.throws(() => renderChatTemplate('{% for m in messages %}{{ m.content.nope() }}{% endfor %}',
    [{ role: 'user', content: 'x' }], { addGenerationPrompt: true }),
  (e) => isHearthError(e, 'template_error') && /failed to render/.test(e.message));
  assert.throws(() => renderChatTemplate('{{ raise_exception("no system role") }}', [], { addGenerationPrompt: true }),
    (e) => isHearthError(e, 'template_error') && e.message.endsWith('no system role'));
});

test('strftime_now, range, namespace, loop.last and tojson', () => {
  const tpl = '{{ strftime_now("%d %b %Y") }}|{{ strftime_now("%A %B %-d") }}|' +
    '{% for i in range(3) %}{{ i }}{% if not loop.last %},{% endif %}{% endfor %}|' +
    '{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}|' +
    '{{ messages[0] | tojson }}';
  const out = renderChatTemplate(tpl, [{ role: 'user', content: 'é "q"' }],
    { addGenerationPrompt: false, now: () => new Date(2024, 6, 26, 9, 5) });
  assert.equal(out, '26 Jul 2024|Friday July %-d|0,1,2|1|{"role": "user", "content": "é \\"q\\""}');
});

test('parsed templates are cached per source string and re-render identically', () => {
  const tpl = '{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}{{ eos_token }}';
  const a = renderChatTemplate(tpl, [{ role: 'user', content: 'x' }], { addGenerationPrompt: true, bosToken: '<s>', eosToken: '</s>' });
  const b = renderChatTemplate(tpl, [{ role: 'user', content: 'y' }], { addGenerationPrompt: true });
  assert.equal(a, '<s>[user]x</s>');
  assert.equal(b, '[user]y');
});
