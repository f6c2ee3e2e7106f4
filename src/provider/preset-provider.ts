// A preset (`hearth create NAME --from MODEL --system ... --param k=v`, Ollama's Modelfile SYSTEM and PARAMETER)
// applied to the provider of its model: its parameters are the defaults a request's own options override, and its
// system prompt goes first in a chat that brings none, as Ollama applies a Modelfile's.

import { Fields } from '../api/validate.ts';
import { readOllamaOptions } from '../api/ollama/options.ts';
import type { NativeRequest, PromptInput } from '../api/native.ts';
import type { ModelPreset } from '../library/types.ts';
import type { Provider } from './types.ts';

/** `request` with the preset's defaults where the request left a field unset. */
export function applyPreset(request: NativeRequest, preset: ModelPreset): NativeRequest {
  const d = readOllamaOptions(preset.parameters ? new Fields(preset.parameters) : undefined);
  const sampling = { ...d.sampling };
  for (const [k, v] of Object.entries(request.sampling)) if (v !== undefined) (sampling as Record<string, unknown>)[k] = v;
  const prompts = preset.system === undefined ? request.prompts : request.prompts.map((p): PromptInput =>
    p.kind === 'chat' && !p.messages.some((m) => m.role === 'system')
      ? { ...p, messages: [{ role: 'system', content: preset.system! }, ...p.messages] }
      : p);
  return {
    ...request,
    prompts,
    sampling,
    maxTokens: request.maxTokens ?? d.maxTokens,
    stop: request.stop.length ? request.stop : d.stop,
    numCtx: request.numCtx ?? d.numCtx,
  };
}

/** The provider, answering as the preset's model: every generation and token count sees the preset applied. */
export function withPreset(provider: Provider, preset: ModelPreset): Provider {
  const system = (input: PromptInput): PromptInput =>
    applyPreset({ model: '', prompts: [input], n: 1, sampling: {}, stop: [], stream: false }, preset).prompts[0]!;
  return Object.assign(Object.create(provider) as Provider, {
    generate: (request: NativeRequest, signal?: AbortSignal) => provider.generate(applyPreset(request, preset), signal),
    countTokens: (input: PromptInput) => provider.countTokens(system(input)),
    ...(provider.tokenize ? { tokenize: (input: PromptInput) => provider.tokenize!(system(input)) } : {}),
    ...(provider.chatPromptText
      ? { chatPromptText: (input: PromptInput & { kind: 'chat' }) => provider.chatPromptText!(system(input) as PromptInput & { kind: 'chat' }) }
      : {}),
  });
}
