// createApp(deps): the HTTP server as a fastify instance, with every dialect's routes over one native handler.
// The caller owns listening and the model's loading (see src/cli/commands/serve.ts).

import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { HearthError } from '../util/errors.ts';
import type { ModelManager } from '../provider/model-manager.ts';
import { totalStats } from './stats.ts';
import { dialectErrorBody, errorInfo, isAnthropic, RETRYABLE } from './errors.ts';
import { jsonBody } from './middleware/json-body.ts';
import { Metrics, type MetricsOptions } from './middleware/metrics.ts';
import { requestLog } from './middleware/request-log.ts';
import { redactingLogger } from './middleware/redact.ts';
import { applyConnectionLimits, resolveConnectionLimits, type ConnectionLimits } from './connection-limits.ts';
import { ignoredFieldsPlugin } from './middleware/ignored-fields.ts';
import { security, type SecurityOptions } from './middleware/security.ts';
import { InProcessRateLimiter } from './middleware/rate-limit.ts';
import { defaultId, type RouteContext } from './respond.ts';
import { openaiRoutes } from './routes/openai.ts';
import { ollamaRoutes } from './routes/ollama.ts';
import { pullRoutes, type PullRouteOptions } from './routes/pull.ts';
import { anthropicRoutes } from './routes/anthropic.ts';
import { systemRoutes, type ReadinessOptions } from './routes/system.ts';
import { Drainer } from './drain.ts';
import type { FastifyBaseLogger } from 'fastify';
import { rerankRoutes } from './routes/rerank.ts';
import { llamaServerRoutes } from './routes/llama-server.ts';
import { libraryRoutes, type LibraryRouteOptions } from './routes/library.ts';
import { responsesRoutes } from './routes/responses.ts';
import { Database } from '../store/database.ts';
import { ResponseStore } from '../store/responses.ts';
import { KnowledgeBase } from '../knowledge/knowledge-base.ts';
import { knowledgeRoutes, modelEmbedders, type KnowledgeRouteOptions } from './routes/knowledge.ts';
import { ConversationStore } from '../store/conversations.ts';
import { Conversations, type ConversationOptions } from './conversations.ts';
import { conversationsRoutes } from './routes/conversations.ts';
import type { Gateway } from '../provider/gateway/gateway.ts';
import type { McpHub } from '../provider/mcp/hub.ts';
import { gatewayMetrics } from './middleware/gateway-metrics.ts';
import { uiRedirect, uiRoutes, type UiOptions } from './routes/ui.ts';
import { mcpRoutes } from './routes/mcp.ts';
import { BatchStore } from '../store/batches.ts';
import { AnalysisService, BatchRunner } from './analysis.ts';
import { analyzeRoutes } from './routes/analyze.ts';
import { agentRoutes } from './routes/agent.ts';
import type { AgentService } from '../agent/service.ts';

export const DEFAULT_PORT = 8434;
export const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;
export const VERSION = '0.1.0';

export interface AppDeps {
  /** The models served, loaded on demand (and those given at start, loaded by the caller). */
  models: ModelManager;
  /** fastify's logger option: false (default), true, pino options, or a logger (server/logs/logger.ts createLogger). */
  logger?: FastifyServerOptions['logger'] | FastifyBaseLogger;
  /** Largest request body in bytes (default 4 MiB). */
  bodyLimit?: number;
  /** Prometheus metrics options, or false for none (and no /metrics). */
  metrics?: MetricsOptions | false;
  /** Seconds clients are told to wait (Retry-After) when the queue is full or the model is loading. */
  retryAfterSeconds?: number;
  now?: () => Date;
  newId?: (prefix: string) => string;
  version?: string;
  /**
   * API keys, scopes, rate limits, usage audit, browser origins and Host names (default: no keys, no audit, the
   * origins and names of this machine only).
   */
  security?: SecurityOptions;
  /** POST /api/pull: where models go and which hosts they may come from (default the Hub, into HEARTH_MODELS). */
  pull?: PullRouteOptions;
  /**
   * Unknown request fields are a 400 ("unrecognized field X"), as they were before tolerant parsing; default
   * false: they are ignored and listed in the hearth-ignored-fields header and the log line.
   */
  strict?: boolean;
  /** /api/delete's hook (the manager's source is the library when the server serves it). */
  libraryRoutes?: LibraryRouteOptions;
  /** Header, body and idle timeouts and the per-address connection cap (defaults: DEFAULT_CONNECTION_LIMITS). */
  connections?: ConnectionLimits;
  /** Where POST /v1/responses keeps responses (store: true); default: an in-memory database, gone when the app closes. */
  responses?: ResponseStore;
  /** Files and vector stores (/v1/files, /v1/vector_stores); default: an in-memory database over `models`, gone when the app closes. */
  knowledge?: KnowledgeBase;
  knowledgeRoutes?: KnowledgeRouteOptions;
  /** Where conversations are kept (default: the responses' in-memory database when that is the default, else a new one). */
  conversations?: ConversationStore;
  /** Compression: the summariser model, the budget's share of the context, the turns kept verbatim. */
  conversation?: ConversationOptions;
  /**
   * The upstream providers (hearth serve --config): their names must already be in `models`' source (Gateway.source);
   * here they get metrics and /health. Closed with the app.
   */
  gateway?: Gateway;
  /** The MCP servers of the config file (mcp_servers:), whose tools requests may name; stopped with the app. */
  mcp?: McpHub;
  /**
   * Where image-analysis batches are kept (POST /api/v1/batch): jobs the store holds as running are resumed when
   * the app is ready. Default: an in-memory database, gone when the app closes.
   */
  batches?: BatchStore;
  /** The analysis service's default model (default: the one model served, when there is one) and pixel limit. */
  analysis?: { defaultModel?: string; maxPixels?: number };
  /** The web UI at /ui/ (default: the build in this checkout, build/ui); false: none. */
  ui?: UiOptions | false;
  /** What GET /health/ready checks: the store, the default model (default: neither, only draining). */
  readiness?: ReadinessOptions;
  /** Counts the requests in flight for a graceful shutdown (drain.ts); default: one of the app's own. */
  drainer?: Drainer;
  /** The assistant (agent tasks and approvals under /api/v1/); without it those routes are 404. Closed with the app. */
  agent?: AgentService;
}

export function createApp(deps: AppDeps): FastifyInstance {
  const retryAfter = deps.retryAfterSeconds ?? 1;
  if (!Number.isInteger(retryAfter) || retryAfter < 0) {
    throw new HearthError('invalid_argument', `retryAfterSeconds must be an integer >= 0; got ${retryAfter}`);
  }
  const models = deps.models;
  const metrics = deps.metrics === false ? undefined : new Metrics(deps.metrics ?? {}, {
    stats: () => {
      const loaded = models.providers();
      return loaded.length ? totalStats(loaded) : undefined;
    },
    loadSeconds: () => {
      const loaded = models.providers();
      if (!loaded.length) return undefined;
      return loaded.reduce((sum, p) => sum + (p.loadMs ?? 0), 0) / 1000;
    },
    models: () => models.list().filter((m) => m.state === 'ready').map((m) => {
      const kv = models.provider(m.name)?.kvCache?.();
      return { model: m.name, bytes: m.bytes, ...(kv ? { kv } : {}) };
    }),
  });
  if (metrics) models.onLoad((provider) => (provider.onStep = (step) => metrics.observeStep(step)));
  if (metrics) deps.security?.limiter?.registerMetrics?.(metrics.registry, deps.metrics ? deps.metrics.prefix ?? 'hearth_' : 'hearth_');
  if (metrics && deps.gateway) deps.gateway.observe(gatewayMetrics(metrics.registry, deps.metrics ? deps.metrics.prefix : undefined));
  const bodyParser = jsonBody({ bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT });
  const limits = resolveConnectionLimits(deps.connections);

  // every line scrubbed of keys and tokens (query strings, headers, messages echoed in errors); a logger instance
  // comes with the same redaction (createLogger)
  const logger = typeof (deps.logger as { child?: unknown } | undefined)?.child === 'function'
    ? { loggerInstance: deps.logger as FastifyBaseLogger }
    : { logger: redactingLogger(deps.logger as FastifyServerOptions['logger']) };
  const app = Fastify({
    ...logger,
    // requestLog writes the one line per request
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Receiving the request is bounded (Node stops counting once it is in); generating the answer can take minutes,
    // and the scheduler's own timeout decides that.
    requestTimeout: limits.bodyMs,
    http: limits.http,
    // On close, drop every connection, including ones a client opened ahead of time and never used
    // (Node's idle-connection close leaves those to the 60 s headers timeout).
    forceCloseConnections: true,
  });
  applyConnectionLimits(app.server, limits);
  const drainer = deps.drainer ?? new Drainer();
  drainer.install(app);
  bodyParser(app);
  requestLog(metrics)(app);
  ignoredFieldsPlugin({ strict: deps.strict ?? false })(app);
  if (deps.ui !== false) uiRedirect(app);
  // one limiter for requests and for the items of batches, which run as requests of the key that made them
  const limiter = deps.security?.limiter ?? new InProcessRateLimiter();
  security({ ...deps.security, limiter }, models)(app);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  app.setErrorHandler((err, request, reply) => {
    const info = errorInfo(err);
    if (info.status >= 500 && !RETRYABLE.has(info.code)) request.log.error({ err }, 'request failed');
    if (RETRYABLE.has(info.code)) reply.header('retry-after', String(retryAfter));
    reply.code(info.status).send(dialectErrorBody(request.url, info, isAnthropic(request)));
  });
  app.setNotFoundHandler((request, reply) => {
    const info = errorInfo(new HearthError('not_found', `no route for ${request.method} ${request.url.split('?')[0]}`));
    reply.code(404).send(dialectErrorBody(request.url, info, isAnthropic(request)));
  });

  const ctx: RouteContext = {
    models, metrics, now: deps.now ?? (() => new Date()), newId: deps.newId ?? defaultId, version: deps.version ?? VERSION,
    ...(deps.gateway ? { gateway: deps.gateway } : {}),
    ...(deps.mcp ? { mcp: deps.mcp } : {}),
  };
  const memory = deps.responses && deps.conversations && deps.batches ? undefined : Database.open(':memory:');
  const responses = deps.responses ?? new ResponseStore(memory!);
  ctx.conversations = new Conversations(deps.conversations ?? new ConversationStore(memory!), models, deps.conversation);
  openaiRoutes(app, ctx);
  const kbMemory = deps.knowledge ? undefined : Database.open(':memory:');
  const kb = deps.knowledge ?? new KnowledgeBase(kbMemory!, { embedders: modelEmbedders(models) });
  knowledgeRoutes(app, kb, deps.knowledgeRoutes);
  if (kbMemory) app.addHook('onClose', async () => (await kb.close(), kbMemory.close()));
  responsesRoutes(app, ctx, responses, kb);
  conversationsRoutes(app, ctx, ctx.conversations, responses);
  ollamaRoutes(app, ctx);
  libraryRoutes(app, models, deps.libraryRoutes);
  pullRoutes(app, deps.pull);
  anthropicRoutes(app, ctx);
  rerankRoutes(app, ctx);
  llamaServerRoutes(app, ctx);
  systemRoutes(app, ctx, deps.readiness, drainer);
  mcpRoutes(app, ctx, kb);
  const analysis = new AnalysisService({ models, newId: ctx.newId, ...deps.analysis });
  const batches = deps.batches ?? new BatchStore(memory!);
  const usage = deps.security?.usage;
  const runner = new BatchRunner({
    store: batches, service: analysis, newId: ctx.newId, limiter,
    ...(deps.security?.keys ? { keys: deps.security.keys } : {}),
    ...(usage ? { audit: (e) => usage.record(e) } : {}),
    onError: (id, err) => app.log.error({ batch: id, err: err.message }, 'batch stopped'),
  });
  analyzeRoutes(app, models, analysis, runner, batches, { bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT, limiter });
  app.addHook('onReady', async () => {
    const resumed = runner.resume();
    if (resumed) app.log.info({ batches: resumed }, 'resuming analysis batches left running');
  });
  if (deps.agent) {
    agentRoutes(app, deps.agent);
    const agent = deps.agent;
    app.addHook('onClose', async () => agent.close());
  }
  if (deps.ui !== false) uiRoutes(app, deps.ui ?? {});
  app.addHook('onClose', async () => {
    await runner.close();
    await models.close();
    deps.gateway?.close();
    await deps.mcp?.close();
    memory?.close();
  });
  return app;
}
