// What the gateway's dialect clients share: the native request checked against what an upstream dialect can carry
// (what it lacks is a 400 naming it), and the pieces each dialect's stream decoder reads out of the upstream's events.
// The encoders and decoders themselves live beside each dialect (openai/upstream.ts, anthropic/upstream.ts,
// ollama/upstream.ts): pure functions of JSON, no I/O.

import type { NativeRequest, PromptInput } from './native.ts';
import type { ChatMessage } from '../chat/template.ts';
import type { SamplingOptions } from '../engine/sampler/index.ts';
import { FieldError } from './validate.ts';

/** One thing an upstream stream said, in native terms. Calls are numbered from 0 in the order they began. */
export type UpstreamPiece =
  | { type: 'text'; text: string }
  | { type: 'reasoning'; text: string }
  | { type: 'call_start'; call: number; id?: string; name: string }
  | { type: 'call_args'; call: number; text: string }
  | { type: 'finish'; reason: 'stop' | 'length' | 'tool_calls'; stopSequence?: string | null }
  | { type: 'usage'; promptTokens?: number; completionTokens?: number; cachedTokens?: number }
  | { type: 'error'; status?: number; message: string };

/** The upstream's own name for the request, for messages: `provider "lab" (ollama)`. */
export interface UpstreamTarget {
  /** The provider's name in the config. */
  provider: string;
  /** What it speaks: openai, anthropic, ollama, lmstudio, openai-compatible, hearth. */
  type: string;
}

export const describeTarget = (t: UpstreamTarget): string => `provider "${t.provider}" (${t.type})`;

/** A 400 about `field`: the upstream cannot do what the request asks. */
export function lacks(t: UpstreamTarget, field: string, what: string): FieldError {
  return new FieldError(field, `${field}: ${describeTarget(t)} has no ${what}`, 'unsupported_field');
}

/** The request's one chat prompt; other prompt kinds (text, tokens, infill) and several prompts are refused. */
export function chatPrompt(req: NativeRequest, t: UpstreamTarget): PromptInput & { kind: 'chat' } {
  const p = req.prompts[0];
  if (req.prompts.length !== 1 || p?.kind !== 'chat') {
    throw lacks(t, 'prompt', `${p?.kind ?? 'empty'} prompts through the gateway (chat messages only: /v1/chat/completions, /api/chat, /v1/messages)`);
  }
  return p;
}

/** Refuses request features no upstream dialect carries through the gateway (the engine's own controls). */
export function checkCommon(req: NativeRequest, t: UpstreamTarget): void {
  if (req.n !== 1) throw lacks(t, 'n', 'several choices per request through the gateway');
  if (req.logprobs !== undefined) throw lacks(t, 'logprobs', 'token log-probabilities through the gateway');
  if (req.echo) throw lacks(t, 'echo', 'prompt echo');
  if (req.sampling.grammar !== undefined && req.format === undefined) throw lacks(t, 'grammar', 'GBNF grammars (a JSON schema or JSON object format can be sent)');
  if (req.sampling.logitBias !== undefined) throw lacks(t, 'logit_bias', 'logit bias (token ids differ between models)');
}

/** Sampling fields that are set, without undefined holes. */
export function setSampling(s: SamplingOptions): Partial<Record<keyof SamplingOptions, unknown>> {
  const out: Partial<Record<keyof SamplingOptions, unknown>> = {};
  for (const [k, v] of Object.entries(s)) if (v !== undefined) out[k as keyof SamplingOptions] = v;
  return out;
}

/** Refuses every set sampling field not in `allowed` (native names), naming the first. */
export function onlySampling(s: SamplingOptions, allowed: readonly (keyof SamplingOptions)[], t: UpstreamTarget, wire: Partial<Record<keyof SamplingOptions, string>> = {}): void {
  for (const k of Object.keys(setSampling(s)) as (keyof SamplingOptions)[]) {
    if (k === 'grammar' || k === 'grammarTriggers' || k === 'logitBias') continue;
    if (!allowed.includes(k)) throw lacks(t, wire[k] ?? snake(k), `sampling option ${wire[k] ?? snake(k)}`);
  }
}

const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A rough token count where the upstream reports none: about four characters a token, at least one per piece of text. */
export function estimateTokens(text: string): number {
  return text ? Math.max(1, Math.ceil(text.length / 4)) : 0;
}

/**
 * Messages with every call and tool result paired by id: Ollama's clients send calls without ids and results without
 * tool_call_id, which OpenAI and Anthropic require. A call without an id gets `call_<message>_<call>`, and a result
 * without one answers the earliest call of the last assistant turn not answered yet.
 */
export function withCallIds(messages: ChatMessage[]): ChatMessage[] {
  let pending: string[] = [];
  return messages.map((m, i) => {
    if (m.role === 'assistant' && m.toolCalls?.length) {
      const toolCalls = m.toolCalls.map((c, j) => (c.id ? c : { ...c, id: `call_${i}_${j}` }));
      pending = toolCalls.map((c) => c.id!);
      return { ...m, toolCalls };
    }
    if (m.role === 'tool') {
      if (m.toolCallId) {
        pending = pending.filter((id) => id !== m.toolCallId);
        return m;
      }
      const id = pending.shift();
      return id ? { ...m, toolCallId: id } : m;
    }
    return m;
  });
}
