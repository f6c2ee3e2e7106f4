// One JSON log line per request (pino through fastify): id, route, model, tokens, duration, status, and the
// request fields that were ignored (ignored-fields.ts). It is the access component's (its own log file).

import type { FastifyInstance } from 'fastify';
import type { Metrics } from './metrics.ts';
import type { McpCallRecord } from '../../provider/mcp/types.ts';
import { ignoredFields } from './ignored-fields.ts';

/** What a handler learns about its request, for the log line and metrics. */
export interface RequestStats {
  model?: string;
  promptTokens?: number;
  completionTokens?: number;
  /** The upstream provider and model that answered (the gateway). */
  provider?: string;
  upstreamModel?: string;
  /** The token counts are estimates (the upstream reported none). */
  tokensEstimated?: boolean;
  /** The audit's and log line's route when the handler names it more precisely than its pattern ("/mcp tools/call generate"). */
  route?: string;
  /** The outcome's status when a 200 answer carries a failure (an MCP tool's error result): the audit records it. */
  status?: number;
  /** The MCP tool calls the request's tool loop made (each a row of the usage audit). */
  mcpCalls?: McpCallRecord[];
}

declare module 'fastify' {
  interface FastifyRequest {
    hearth: RequestStats;
  }
}

export function requestLog(metrics: Metrics | undefined): (app: FastifyInstance) => void {
  return (app) => {
    app.decorateRequest('hearth', null as unknown as RequestStats);
    app.addHook('onRequest', async (request) => {
      request.hearth = {};
    });
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      const ms = reply.elapsedTime;
      // A client that left before the end: the socket closed without the response finishing.
      const status = reply.raw.writableFinished ? reply.statusCode : 499;
      metrics?.observeRequest(route, request.method, status, ms / 1000);
      const s = request.hearth ?? {};
      const ignored = ignoredFields(request);
      request.log.info({
        component: 'access', method: request.method, route: s.route ?? route, url: request.url, status, ...(s.status !== undefined ? { outcome: s.status } : {}), model: s.model,
        prompt_tokens: s.promptTokens, completion_tokens: s.completionTokens, duration_ms: Math.round(ms * 10) / 10,
        ...(s.provider !== undefined ? { provider: s.provider, upstream_model: s.upstreamModel, ...(s.tokensEstimated ? { tokens_estimated: true } : {}) } : {}),
        ...(ignored.length ? { ignored_fields: ignored } : {}),
        ...(s.mcpCalls?.length ? { mcp_calls: s.mcpCalls.map((c) => ({ server: c.server, tool: c.name, ms: Math.round(c.durationMs), ok: c.error === undefined })) } : {}),
      }, 'request');
    });
  };
}
