import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sharedPath } from '../../test/shared.ts';
import { loadTokenizer } from '../tokenizer/index.ts';
import { chatPromptTokens, chatTextTokens, renderChat } from './prompt.ts';
import type { ChatMessage } from './template.ts';

// Qwen3's own template and tokenizer (../shared/tokenizers/qwen3), as a request's chat_template_kwargs or
// Ollama's think reach it.
const dir = sharedPath('tokenizers', 'qwen3');
const model = {
  tokenizer: loadTokenizer(`${dir}/tokenizer.json`),
  chatTemplate: (JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, 'utf8')) as { chat_template: string }).chat_template,
};
const messages: ChatMessage[] = [{ role: 'user', content: 'What is 2+2?' }];
const head = '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n';

test('Qwen3 renders with enable_thinking false (an empty think block) and true (the model thinks first)', () => {
  assert.equal(renderChat(model, messages, true, { enable_thinking: false }), `${head}<think>\n\n</think>\n\n`);
  assert.equal(renderChat(model, messages, true, { enable_thinking: true }), head);
  assert.equal(renderChat(model, messages), head);
  // the variables cannot replace the conversation
  assert.equal(renderChat(model, messages, true, { messages: [], add_generation_prompt: false }), head);
});

test('the switch changes the prompt tokens by the think block', () => {
  const on = chatPromptTokens(model, messages, { enable_thinking: true });
  const off = chatPromptTokens(model, messages, { enable_thinking: false });
  assert.deepEqual(off.slice(0, on.length), on);
  assert.equal(model.tokenizer.decode(off.slice(on.length)), '<think>\n\n</think>\n\n');
});

test('tools reach the template; without a template the generic note joins the raw prompt', () => {
  const tools = [{ name: 'add', parameters: { type: 'object', properties: { a: { type: 'number' } } } }];
  const rendered = renderChat(model, messages, true, undefined, tools)!;
  assert.ok(rendered.startsWith('<|im_start|>system\n# Tools\n'));
  assert.ok(rendered.endsWith(head));
  const ids = chatPromptTokens(model, messages, undefined, tools);
  assert.deepEqual(ids, chatTextTokens(model.tokenizer, rendered));

  const bare = { tokenizer: model.tokenizer, chatTemplate: undefined };
  const text = model.tokenizer.decode(chatPromptTokens(bare, messages, undefined, tools));
  assert.ok(text.startsWith('You can call these tools:\n{"name":"add"'), text);
  assert.ok(text.endsWith('Otherwise reply in plain text.\nWhat is 2+2?'), text);
});
