// Running a NativeRequest and answering in a dialect: the whole JSON at once, or a stream whose frames the
// dialect's encoder writes. Shared by every generating route.

import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HearthError } from '../util/errors.ts';
import type { Capability, ChoiceResult, NativeEvent, NativeRequest } from '../api/native.ts';
import { FieldError } from '../api/validate.ts';
import type { ErrorInfo } from '../api/errors.ts';
import type { ModelManager } from '../provider/model-manager.ts';
import type { Generation, Provider } from '../provider/types.ts';
import type { Metrics } from './middleware/metrics.ts';
import type { Conversations } from './conversations.ts';
import type { Gateway } from '../provider/gateway/gateway.ts';
import { errorInfo } from './errors.ts';
import { coalesce, STREAM_HEADERS, type StreamFormat } from './sse.ts';
import type { McpHub } from '../provider/mcp/hub.ts';
import type { LoopGeneration, McpStreamEvent } from '../provider/mcp/tool-loop.ts';
import { eventsOf, isMcpEvent, mcpGeneration } from './mcp.ts';

export interface RouteContext {
  models: ModelManager;
  metrics: Metrics | undefined;
  now: () => Date;
  /** A fresh response id with the dialect's prefix. */
  newId: (prefix: string) => string;
  version: string;
  /** Stored conversations (the Responses API's `conversation`, the hearth-conversation header). */
  conversations?: Conversations;
  /** The upstream providers, when the server has a gateway config (for /health). */
  gateway?: Gateway;
  /** The MCP servers of the config file, whose tools requests may name. */
  mcp?: McpHub;
}

/** Starts a request's generation: through the MCP tool loop when it names MCP servers. */
export function startGeneration(ctx: RouteContext, request: FastifyRequest, provider: Provider, native: NativeRequest,
  signal: AbortSignal): Promise<Generation | LoopGeneration> {
  return native.mcp ? mcpGeneration(ctx.mcp, request, provider, native, ctx.newId, signal) : provider.generate(native, signal);
}

export const defaultId = (prefix: string): string => `${prefix}${randomUUID().replaceAll('-', '').slice(0, 24)}`;

/**
 * The provider of the model a request names, loaded first when it is not (concurrent requests share one load).
 * The request holds the model until its response is finished or the client leaves; then the model's keep-alive
 * (the request's `keepAliveMs`, else the server's) starts. An unknown name is a 404 about the `model` field.
 */
export async function useModel(ctx: RouteContext, request: FastifyRequest, reply: FastifyReply, name: string,
  keepAliveMs?: number): Promise<Provider> {
  let lease;
  try {
    lease = await ctx.models.acquire(name, { keepAliveMs });
  } catch (e) {
    if (e instanceof HearthError && e.code === 'not_found') throw new FieldError('model', e.message, 'not_found');
    throw e;
  }
  if (reply.raw.writableFinished || reply.raw.destroyed) lease.release();
  else reply.raw.once('close', () => lease.release());
  request.hearth.model = lease.provider.card.id;
  return lease.provider;
}

const ASKED: Record<Capability, string> = {
  chat: 'chat', completion: 'generate text', embeddings: 'embed', rerank: 'rerank', thinking: 'think', tools: 'call tools', vision: 'read images',
};

/** A 400 about the `model` field: the model cannot do what the endpoint asks, and why (from its card). */
export function capabilityError(provider: Provider, cap: Capability, why?: string): FieldError {
  const reason = why ?? provider.card.missing?.[cap] ?? `it has no ${cap} capability`;
  return new FieldError('model', `model "${provider.card.id}" cannot ${ASKED[cap]}: ${reason}`);
}

/** Throws capabilityError unless the model's card has the capability. */
export function requireCapability(provider: Provider, cap: Capability): void {
  if (!provider.card.capabilities[cap]) throw capabilityError(provider, cap);
}

/** Aborts when the client goes away before the response has been fully written. */
export function clientSignal(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  return ac.signal;
}

export interface StreamWriter {
  format: StreamFormat;
  /** Frames before the first event (OpenAI's role chunk, Anthropic's message_start). */
  start?(run: Generation): string[];
  event(ev: NativeEvent): string[];
  /** Frames for one event of the MCP tool loop (the Responses API's mcp items); absent: the dialect shows none. */
  mcp?(ev: McpStreamEvent): string[];
  /** Frames after the last choice finished (usage, [DONE], message_stop). */
  end?(results: ChoiceResult[]): string[];
  /** An error after the response began: the dialect's in-stream error frame. */
  error(info: ErrorInfo): string;
}

export interface Answer {
  json(results: ChoiceResult[], run: Generation): unknown;
  stream(): StreamWriter;
}

/** The request's token counts for the usage audit and the rate limiter, and its generation metrics. */
export function recordGeneration(ctx: RouteContext, request: FastifyRequest, results: ChoiceResult[]): void {
  const prompts = new Set<number>();
  let promptTokens = 0;
  let completionTokens = 0;
  for (const r of results) {
    if (!prompts.has(r.promptIndex)) promptTokens += r.usage.promptTokens;
    prompts.add(r.promptIndex);
    completionTokens += r.usage.completionTokens;
  }
  request.hearth.promptTokens = promptTokens;
  request.hearth.completionTokens = completionTokens;
  if (results.some((r) => r.usage.estimated)) request.hearth.tokensEstimated = true;
  ctx.metrics?.observeGeneration(request.routeOptions.url ?? '', results, request.hearth.model);
}

/** Runs the request and sends the answer; every error before the first byte goes to the error handler. */
export async function generateAndReply(ctx: RouteContext, request: FastifyRequest, reply: FastifyReply,
  native: NativeRequest, provider: Provider | undefined, answer: Answer): Promise<FastifyReply> {
  provider ??= await useModel(ctx, request, reply, native.model, native.keepAliveMs);
  requireCapability(provider, native.prompts.some((p) => p.kind === 'chat') ? 'chat' : 'completion');
  let run: Generation | LoopGeneration;
  try {
    run = await startGeneration(ctx, request, provider, native, clientSignal(reply));
  } catch (e) {
    // an upstream that failed is named in the audit too
    const origin = (e as { origin?: Generation['origin'] }).origin;
    if (origin) {
      request.hearth.provider = origin.provider;
      request.hearth.upstreamModel = origin.model;
    }
    throw e;
  }
  if (run.origin) {
    request.hearth.provider = run.origin.provider;
    request.hearth.upstreamModel = run.origin.model;
  }
  if (!native.stream) {
    const results = await run.collect();
    recordGeneration(ctx, request, results);
    return reply.send(answer.json(results, run));
  }
  const writer = answer.stream();
  async function* frames(): AsyncGenerator<string> {
    const results: ChoiceResult[] = [];
    try {
      yield* writer.start?.(run) ?? [];
      for await (const ev of eventsOf(run)) {
        if (isMcpEvent(ev)) {
          yield* writer.mcp?.(ev) ?? [];
          continue;
        }
        if (ev.type === 'done') results[ev.index] = ev.result;
        yield* writer.event(ev);
      }
      yield* writer.end?.(results) ?? [];
    } catch (e) {
      const info = errorInfo(e);
      if (info.code !== 'aborted') {
        request.log.warn({ code: info.code, err: info.message }, 'stream ended with an error');
        yield writer.error(info);
      }
    } finally {
      recordGeneration(ctx, request, results.filter(Boolean));
    }
  }
  reply.headers(STREAM_HEADERS[writer.format]);
  return reply.send(Readable.from(coalesce(frames()), { objectMode: false }));
}
