// One model of one upstream provider behind the Provider seam: the native request encoded in the provider's dialect,
// sent through its UpstreamClient, and the streamed answer decoded into native events as it arrives (the upstream is
// always asked to stream; a client that asked for one JSON answer gets the events collected). Token counts are the
// upstream's, or estimated from the text when it reports none (and marked so).

import { randomBytes } from 'node:crypto';
import { HearthError } from '../../util/errors.ts';
import { FieldError } from '../../api/validate.ts';
import type { ChoiceResult, ModelCard, NativeEvent, NativeRequest, NativeToolCall, PromptInput } from '../../api/native.ts';
import { estimateTokens, type UpstreamPiece, type UpstreamTarget } from '../../api/upstream.ts';
import { openaiUpstreamBody, OpenAIUpstreamDecoder } from '../../api/openai/upstream.ts';
import { anthropicUpstreamBody, AnthropicUpstreamDecoder } from '../../api/anthropic/upstream.ts';
import { ollamaUpstreamBody, OllamaUpstreamDecoder } from '../../api/ollama/upstream.ts';
import type { ProviderConfig } from './config.ts';
import { framed, UpstreamFailure, type UpstreamClient } from './transport.ts';
import type { EmbedOptions, Embeddings, Generation, Provider } from '../types.ts';

interface Decoder {
  done: boolean;
  push(data: string): UpstreamPiece[];
}

/** The dialect's path, body and decoder. */
export function upstreamCall(config: ProviderConfig, req: NativeRequest, model: string): { path: string; body: unknown; decoder: Decoder; framing: 'sse' | 'ndjson' } {
  const t: UpstreamTarget = { provider: config.name, type: config.type };
  switch (config.dialect) {
    case 'openai':
      return { path: '/chat/completions', body: openaiUpstreamBody(req, model, t, { extensions: config.type !== 'openai' }), decoder: new OpenAIUpstreamDecoder(), framing: 'sse' };
    case 'anthropic':
      return { path: '/v1/messages', body: anthropicUpstreamBody(req, model, t), decoder: new AnthropicUpstreamDecoder(), framing: 'sse' };
    case 'ollama':
      return { path: '/api/chat', body: ollamaUpstreamBody(req, model, t), decoder: new OllamaUpstreamDecoder(), framing: 'ndjson' };
  }
}

/** The path that lists the provider's models. */
export const MODELS_PATH: Record<ProviderConfig['dialect'], string> = { openai: '/models', anthropic: '/v1/models', ollama: '/api/tags' };

/** The headers every request to the provider carries: its credentials and, for Anthropic, the API version. */
export function providerHeaders(config: ProviderConfig): Record<string, string> {
  const h: Record<string, string> = { 'user-agent': 'hearth-gateway' };
  if (config.dialect === 'anthropic') {
    h['anthropic-version'] = '2023-06-01';
    if (config.apiKey) h['x-api-key'] = config.apiKey;
  } else if (config.apiKey) {
    h.authorization = `Bearer ${config.apiKey}`;
  }
  return h;
}

export function remoteCard(id: string): ModelCard {
  const why = 'it is served by an upstream provider through the gateway, which carries chat only';
  // images go up in the provider's dialect (image_url parts, image blocks, Ollama's images); whether the upstream
  // model reads them is the upstream's to say, in its own error
  return {
    id, nCtx: 0, chatTemplate: undefined, loadedAt: new Date(),
    capabilities: { chat: true, completion: false, embeddings: false, rerank: false, thinking: false, tools: true, vision: true },
    missing: { completion: why, embeddings: why, rerank: why },
  };
}

const callId = () => `call_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;

function promptText(p: PromptInput): string {
  return p.kind === 'chat' ? p.messages.map((m) => m.content).join('\n') : p.kind === 'text' ? p.text : '';
}

/** Hooks the gateway sets on each stream: its first token, its end (usage) and a failure after the first byte. */
export interface StreamHooks {
  firstToken?(): void;
  end?(result: ChoiceResult): void;
  fail?(e: UpstreamFailure): void;
  /** The stream is over, whichever way (its end, a failure, the client stopping reading). */
  settle?(): void;
}

/**
 * Sends the request and resolves once the upstream's first byte arrived (every failure before that rejects, so that
 * the gateway can retry or fall back before the client was sent anything).
 */
export async function startRemote(config: ProviderConfig, client: UpstreamClient, req: NativeRequest, model: string,
  signal: AbortSignal | undefined, hooks: StreamHooks = {}): Promise<Generation> {
  const call = upstreamCall(config, req, model);
  const t0 = performance.now();
  const stream = await client.request('POST', call.path, call.body, signal);
  const data = framed(stream.chunks, call.framing);
  const prompt = req.prompts[0]!;

  async function* events(): AsyncGenerator<NativeEvent> {
    let text = '';
    let reasoning: string | undefined;
    const calls: NativeToolCall[] = [];
    let reason: ChoiceResult['reason'] | undefined;
    let stopSequence: string | null = null;
    const usage: { promptTokens?: number; completionTokens?: number; cachedTokens?: number } = {};
    let firstTokenMs: number | undefined;
    const first = () => {
      if (firstTokenMs !== undefined) return;
      firstTokenMs = performance.now() - t0;
      hooks.firstToken?.();
    };
    try {
      try {
        reading: for await (const batch of data) {
          const pieces: UpstreamPiece[] = [];
          for (const d of batch) {
            if (call.framing === 'ndjson' && d.trim() === '') continue;
            try {
              pieces.push(...call.decoder.push(d));
            } catch {
              throw new UpstreamFailure('reset', 'the upstream sent an event that is not JSON');
            }
            if (call.decoder.done) break;
          }
          for (const p of pieces) {
            switch (p.type) {
              case 'text':
                first();
                text += p.text;
                yield { type: 'delta', index: 0, text: p.text, tokens: [] };
                break;
              case 'reasoning':
                first();
                reasoning = (reasoning ?? '') + p.text;
                yield { type: 'reasoning', index: 0, text: p.text };
                break;
              case 'call_start': {
                first();
                const c = { id: p.id ?? callId(), name: p.name, arguments: '' };
                calls[p.call] = c;
                yield { type: 'tool_call_delta', index: 0, call: p.call, id: c.id, name: c.name, arguments: '' };
                break;
              }
              case 'call_args':
                calls[p.call]!.arguments += p.text;
                yield { type: 'tool_call_delta', index: 0, call: p.call, arguments: p.text };
                break;
              case 'finish':
                reason = p.reason;
                stopSequence = p.stopSequence ?? null;
                break;
              case 'usage':
                if (p.promptTokens !== undefined) usage.promptTokens = p.promptTokens;
                if (p.completionTokens !== undefined) usage.completionTokens = p.completionTokens;
                if (p.cachedTokens !== undefined) usage.cachedTokens = p.cachedTokens;
                break;
              case 'error':
                throw new UpstreamFailure('status', p.message, { status: 500 });
            }
          }
          if (call.decoder.done) break reading;
        }
        if (!call.decoder.done && reason === undefined) throw new UpstreamFailure('reset', 'the upstream ended the stream before its end');
      } catch (e) {
        const f = e instanceof UpstreamFailure ? e : new UpstreamFailure('reset', (e as Error).message);
        if (signal?.aborted) throw new HearthError('aborted', 'the client went away');
        hooks.fail?.(f);
        throw f;
      }
      for (const [i, c] of calls.entries()) if (c) yield { type: 'tool_call', index: 0, call: i, ...c };
      const estimated = usage.completionTokens === undefined || usage.promptTokens === undefined;
      const made = calls.filter(Boolean);
      const result: ChoiceResult = {
        index: 0, promptIndex: 0, text,
        ...(prompt.kind === 'chat' && prompt.tools?.length ? { toolCalls: made } : made.length ? { toolCalls: made } : {}),
        ...(reasoning !== undefined ? { reasoning } : {}),
        tokens: [],
        reason: made.length && reason !== 'length' ? 'tool_calls' : reason === 'tool_calls' ? 'stop' : reason ?? 'stop',
        stopSequence,
        usage: {
          promptTokens: usage.promptTokens ?? estimateTokens(promptText(prompt)),
          completionTokens: usage.completionTokens ?? estimateTokens(text + (reasoning ?? '') + made.map((c) => c.name + c.arguments).join('')),
          cachedTokens: usage.cachedTokens ?? 0,
          ...(estimated ? { estimated: true } : {}),
        },
        timings: { queueMs: 0, promptMs: firstTokenMs ?? 0, generateMs: performance.now() - t0 - (firstTokenMs ?? 0), totalMs: performance.now() - t0, firstTokenMs, loadMs: 0 },
        promptTokens: [],
      };
      hooks.end?.(result);
      yield { type: 'done', index: 0, result };
    } finally {
      hooks.settle?.();
    }
  }

  const it = events();
  return {
    promptTokens: [0],
    events: it,
    async collect() {
      const results: ChoiceResult[] = [];
      for await (const ev of it) if (ev.type === 'done') results[ev.index] = ev.result;
      return results;
    },
  };
}

/** What every remote provider refuses: embeddings, reranking, token ids. */
export function refuseEmbed(id: string): Promise<Embeddings> {
  return Promise.reject(new FieldError('model', `model "${id}" cannot embed: it is served by an upstream provider through the gateway, which carries chat only`));
}

/** A Provider whose generate is the caller's (the gateway's route logic); the rest is what an upstream model can do. */
export function remoteProvider(id: string, generate: (req: NativeRequest, signal?: AbortSignal) => Promise<Generation>): Provider {
  return {
    card: remoteCard(id),
    generate,
    embed: (_inputs: PromptInput[], _o: EmbedOptions) => refuseEmbed(id),
    // an estimate: the upstream's tokenizer is not here
    countTokens: async (input: PromptInput) => estimateTokens(promptText(input)),
    close: () => {},
  };
}
