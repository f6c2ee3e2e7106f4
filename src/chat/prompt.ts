// From messages to prompt tokens: render the model's chat template (if any), then tokenize with special tokens
// parsed, adding BOS only when the vocabulary wants one and the template did not already write it.

import type { Tokenizer } from '../tokenizer/types.ts';
import { renderChatTemplate, type ChatMessage } from './template.ts';
import { genericToolMessages, type ToolSpec } from './tools.ts';

export interface PromptSource {
  tokenizer: Tokenizer;
  chatTemplate: string | undefined;
}

export function tokenText(tok: Tokenizer, id: number): string {
  return id >= 0 ? tok.tokenToPiece(id) : '';
}

/** Tokens of a plain prompt: BOS as the vocabulary says, special-token text left as text. */
export function rawPromptTokens(tok: Tokenizer, text: string): number[] {
  return tok.encode(text, { parseSpecial: false });
}

/**
 * Render messages through the chat template; undefined when the model has none. `vars` are extra template
 * variables (llama-server's chat_template_kwargs, e.g. Qwen3's enable_thinking); they cannot replace
 * messages, add_generation_prompt or the special tokens. `tools` go to the template as RenderOptions.tools says.
 */
export function renderChat(model: PromptSource, messages: ChatMessage[], addGenerationPrompt = true,
  vars?: Record<string, unknown>, tools?: ToolSpec[]): string | undefined {
  if (!model.chatTemplate) return undefined;
  const tok = model.tokenizer;
  return renderChatTemplate(model.chatTemplate, messages, {
    addGenerationPrompt,
    bosToken: tokenText(tok, tok.bosId),
    eosToken: tokenText(tok, tok.eosId),
    extra: vars,
    tools,
  });
}

/** Tokens of rendered chat text: special tokens parsed, no second BOS when the template wrote one. */
export function chatTextTokens(tok: Tokenizer, rendered: string): number[] {
  const bos = tokenText(tok, tok.bosId);
  const addBos = tok.addBos && !(bos && rendered.startsWith(bos));
  return tok.encode(rendered, { parseSpecial: true, addBos });
}

/**
 * Prompt tokens for a conversation. Without a chat template the messages' contents are joined
 * (system first) and tokenized as a raw prompt, as llama.cpp does for template-less models.
 */
export function chatPromptTokens(model: PromptSource, messages: ChatMessage[], vars?: Record<string, unknown>,
  tools?: ToolSpec[]): number[] {
  const rendered = renderChat(model, messages, true, vars, tools);
  if (rendered === undefined) {
    // No template, so no tool syntax either: the generic convention's note and JSON go into the joined text.
    const plain = tools && tools.length > 0 ? genericToolMessages(messages, tools) : messages;
    return rawPromptTokens(model.tokenizer, plain.map((m) => m.content).join('\n'));
  }
  return chatTextTokens(model.tokenizer, rendered);
}
