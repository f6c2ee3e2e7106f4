import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHearthError } from '../util/errors.ts';
import { CHATML_TEMPLATE, LLAMA2_TEMPLATE } from './builtin.ts';
import { renderChatTemplate, type ChatMessage } from './template.ts';

const conversation: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello.' },
  { role: 'user', content: 'Bye' },
];

test('ChatML', () => {
  assert.equal(renderChatTemplate(CHATML_TEMPLATE, conversation, { addGenerationPrompt: true }),
    '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n' +
    '<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n');
  assert.equal(renderChatTemplate(CHATML_TEMPLATE, conversation.slice(0, 2), { addGenerationPrompt: false }),
    '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n');
});

test('Llama 2 [INST] with the system prompt in the first turn', () => {
  assert.equal(renderChatTemplate(LLAMA2_TEMPLATE, conversation, { addGenerationPrompt: true, bosToken: '<s>', eosToken: '</s>' }),
    '<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello. </s><s>[INST] Bye [/INST]');
  assert.equal(renderChatTemplate(LLAMA2_TEMPLATE, [{ role: 'user', content: ' Hi ' }], { addGenerationPrompt: true, bosToken: '<s>' }),
    '<s>[INST] Hi [/INST]');
  assert.throws(() => renderChatTemplate(LLAMA2_TEMPLATE, [{ role: 'assistant', content: 'x' }], { addGenerationPrompt: true }),
    (e) => isHearthError(e, 'template_error'));
});
