// The gateway's Anthropic client side: a native request as the body of an upstream POST /v1/messages (always
// streamed), and the upstream's SSE events read back into pieces. System messages become the top-level system text,
// tool results become tool_result blocks in user turns; an earlier reply's reasoning is not sent (Anthropic checks
// thinking blocks' signatures), and a seed, min_p, penalties or a structured output format are refused by name.

import type { ChatMessage } from '../../chat/template.ts';
import type { NativeRequest } from '../native.ts';
import type { SamplingOptions } from '../../engine/sampler/index.ts';
import { contentParts, imageMediaType } from '../images.ts';
import { withCallIds, chatPrompt, checkCommon, lacks, onlySampling, type UpstreamPiece, type UpstreamTarget } from '../upstream.ts';

/** Anthropic requires max_tokens; a request without a limit gets this one. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;
const ALLOWED: (keyof SamplingOptions)[] = ['temperature', 'topP', 'topK'];

type Block = Record<string, unknown>;

export function anthropicMessages(messages: ChatMessage[]): { system?: string; messages: { role: string; content: Block[] }[] } {
  const system: string[] = [];
  const out: { role: string; content: Block[] }[] = [];
  const push = (role: string, blocks: Block[]) => {
    const last = out.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  };
  for (const m of messages) {
    if (m.role === 'system') {
      system.push(m.content);
    } else if (m.role === 'tool') {
      push('user', [{ type: 'tool_result', tool_use_id: m.toolCallId ?? '', content: m.content }]);
    } else if (m.role === 'assistant') {
      const blocks: Block[] = m.content ? [{ type: 'text', text: m.content }] : [];
      for (const [i, c] of (m.toolCalls ?? []).entries()) {
        const a = c.function.arguments;
        let input: unknown = a;
        if (typeof a === 'string') {
          try { input = JSON.parse(a || '{}'); } catch { input = {}; }
        }
        blocks.push({ type: 'tool_use', id: c.id ?? `toolu_${i}`, name: c.function.name, input });
      }
      push('assistant', blocks.length ? blocks : [{ type: 'text', text: '' }]);
    } else if (m.images?.length) {
      // image blocks at their places: base64 bytes with their media type, or a URL source
      push('user', contentParts(m.content, m.images).map((p) => ('text' in p ? { type: 'text', text: p.text } : p.image.url !== undefined
        ? { type: 'image', source: { type: 'url', url: p.image.url } }
        : { type: 'image', source: { type: 'base64', media_type: imageMediaType(p.image.data!), data: Buffer.from(p.image.data!).toString('base64') } })));
    } else {
      push('user', [{ type: 'text', text: m.content }]);
    }
  }
  return { ...(system.length ? { system: system.join('\n\n') } : {}), messages: out };
}

export function anthropicUpstreamBody(req: NativeRequest, model: string, t: UpstreamTarget): Record<string, unknown> {
  const p = chatPrompt(req, t);
  checkCommon(req, t);
  if (req.format !== undefined) throw lacks(t, 'response_format', 'structured output format');
  if (req.numCtx !== undefined) throw lacks(t, 'num_ctx', 'per-request context size');
  onlySampling(req.sampling, ALLOWED, t);
  const { system, messages } = anthropicMessages(withCallIds(p.messages));
  const s = req.sampling;
  const body: Record<string, unknown> = {
    model, max_tokens: req.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS, messages, stream: true,
    ...(system !== undefined ? { system } : {}),
    ...(s.temperature !== undefined ? { temperature: Math.min(s.temperature, 1) } : {}),
    ...(s.topP !== undefined ? { top_p: s.topP } : {}),
    ...(s.topK !== undefined ? { top_k: s.topK } : {}),
    ...(req.stop.length ? { stop_sequences: req.stop } : {}),
  };
  if (p.tools?.length) {
    body.tools = p.tools.map((x) => ({ name: x.name, ...(x.description !== undefined ? { description: x.description } : {}), input_schema: x.parameters }));
    const c = p.toolChoice;
    const choice: Block | undefined = c === undefined ? undefined : c === 'auto' ? { type: 'auto' } : c === 'none' ? { type: 'none' }
      : c === 'required' ? { type: 'any' } : { type: 'tool', name: c.name };
    if (choice && p.parallelToolCalls === false && choice.type !== 'none') choice.disable_parallel_tool_use = true;
    if (choice) body.tool_choice = choice;
  }
  return body;
}

const REASON: Record<string, 'stop' | 'length' | 'tool_calls'> = { end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length', tool_use: 'tool_calls', pause_turn: 'stop', refusal: 'stop' };

/** Reads the upstream's stream events (each SSE event's data, which carries its own type) into pieces. */
export class AnthropicUpstreamDecoder {
  /** Content block index -> our call number, for tool_use blocks. */
  private readonly calls = new Map<number, number>();
  done = false;

  push(data: string): UpstreamPiece[] {
    const ev = JSON.parse(data) as {
      type: string; index?: number;
      message?: { usage?: { input_tokens?: number; cache_read_input_tokens?: number } };
      content_block?: { type: string; id?: string; name?: string; text?: string };
      delta?: { type?: string; text?: string; partial_json?: string; thinking?: string; stop_reason?: string | null; stop_sequence?: string | null };
      usage?: { output_tokens?: number; input_tokens?: number };
      error?: { message?: string; type?: string };
    };
    switch (ev.type) {
      case 'message_start': {
        const u = ev.message?.usage;
        return u ? [{ type: 'usage', promptTokens: u.input_tokens, cachedTokens: u.cache_read_input_tokens }] : [];
      }
      case 'content_block_start': {
        const b = ev.content_block;
        if (b?.type === 'tool_use') {
          const call = this.calls.size;
          this.calls.set(ev.index ?? 0, call);
          return [{ type: 'call_start', call, ...(b.id ? { id: b.id } : {}), name: b.name ?? '' }];
        }
        if (b?.type === 'text' && b.text) return [{ type: 'text', text: b.text }];
        return [];
      }
      case 'content_block_delta': {
        const d = ev.delta ?? {};
        if (d.type === 'text_delta' && d.text) return [{ type: 'text', text: d.text }];
        if (d.type === 'thinking_delta' && d.thinking) return [{ type: 'reasoning', text: d.thinking }];
        if (d.type === 'input_json_delta' && d.partial_json) {
          const call = this.calls.get(ev.index ?? 0);
          return call === undefined ? [] : [{ type: 'call_args', call, text: d.partial_json }];
        }
        return [];
      }
      case 'message_delta': {
        const out: UpstreamPiece[] = [];
        if (ev.delta?.stop_reason) out.push({ type: 'finish', reason: REASON[ev.delta.stop_reason] ?? 'stop', stopSequence: ev.delta.stop_sequence ?? null });
        if (ev.usage?.output_tokens !== undefined) out.push({ type: 'usage', completionTokens: ev.usage.output_tokens, ...(ev.usage.input_tokens ? { promptTokens: ev.usage.input_tokens } : {}) });
        return out;
      }
      case 'message_stop':
        this.done = true;
        return [];
      case 'error':
        return [{ type: 'error', message: ev.error?.message ?? 'the upstream reported an error' }];
      default:
        return [];
    }
  }
}

/** The ids of the models an upstream GET /v1/models lists. */
export function anthropicModelIds(body: unknown): string[] {
  const data = (body as { data?: { id?: unknown }[] } | null)?.data;
  return Array.isArray(data) ? data.flatMap((m) => (typeof m?.id === 'string' ? [m.id] : [])) : [];
}
