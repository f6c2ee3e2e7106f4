// The security layer of the HTTP server, as one fastify plugin: browser origins (cors.ts), API keys and scopes
// (auth.ts), per-key rate limits (rate-limit.ts), model allow-lists, the usage audit, the admin key and usage routes,
// and the web UI's sessions (ui-session.ts: a cookie standing for a key, with a CSRF token).
//
// Order per request: onRequest checks the Host (host-check.ts), the Origin, the key, the route's scope and the rate
// limits before the body is even read; preHandler checks the model once the body is parsed. The usage row is
// committed before the client has the whole response: onSend writes it before a JSON body goes out, and a stream's
// end (the last chunk of its body) waits for it, so a replica killed at any moment has a row for every response a
// client received in full. A response the client abandoned gets its row (status 499) when the connection closes,
// and that is also when the request's rate slot is released with its tokens.
//
// Keys and usage are repositories (store/repository.ts): the SQLite store answers at once, PostgreSQL through a
// promise. A database that cannot be reached fails authentication closed (database_unavailable, 503).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HearthError } from '../../util/errors.ts';
import type { ApiKey } from '../../store/keys.ts';
import type { UsageEntry } from '../../store/usage.ts';
import type { KeyRepository, UsageRepository } from '../../store/repository.ts';
import { pipeline, Transform, type Readable } from 'node:stream';
import type { ModelManager } from '../../provider/model-manager.ts';
import { authenticate, authorize, checkModel, isListed, requestedModel, routeAccess } from './auth.ts';
import { checkOrigins, handleOrigin } from './cors.ts';
import { checkAllowedHosts, hostCheck } from './host-check.ts';
import { InProcessRateLimiter, formatReset, rateHeaders, type Admission, type RateLimiter } from './rate-limit.ts';
import { adminKeyRoutes } from './admin-keys.ts';
import { adminUsageRoutes } from './admin-usage.ts';
import { carriesKey, sessionKey, UiSessions, uiSessionRoutes } from './ui-session.ts';

export interface SecurityOptions {
  /** The key store: authentication is on when given (every route but /health needs a key). */
  keys?: KeyRepository;
  /** Per-key limits (default: in-process, one-minute windows). */
  limiter?: RateLimiter;
  /** Where each request's usage row goes; none: no audit. */
  usage?: UsageRepository;
  /**
   * Browser origins allowed (CORS) besides this machine's pages and apps (cors.ts); ["none"]: every browser
   * origin is refused.
   */
  corsOrigins?: readonly string[];
  /** Host names accepted besides this machine's while listening on loopback (host-check.ts); ["*"]: no check. */
  allowedHosts?: readonly string[];
  /** /metrics without a key (for a scraper on a trusted network). */
  metricsOpen?: boolean;
  /** The clock for usage rows and key expiry in the admin API (ms). */
  now?: () => number;
}

export interface RequestAuth {
  /** The key that authenticated the request. */
  key?: ApiKey;
  /** The limiter admitted it: its slot is released when the response closes. */
  admitted: boolean;
  /** What the limiter handed out with the admission, given back at release. */
  ticket?: unknown;
  /** The usage row has been written (or is being written). */
  recorded?: boolean;
  /** The model the request named, for the audit of requests refused before a route resolved it. */
  model?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    hearthAuth: RequestAuth | null;
  }
}

const unlisted = new WeakMap<FastifyInstance, string[]>();

/** Routes of `app` that no entry of the access table names: they fall back to needing `admin`. */
export function unlistedRoutes(app: FastifyInstance): string[] {
  return unlisted.get(app) ?? [];
}

/** The plugin; its options are checked here, when the app is built. */
export function security(o: SecurityOptions, models?: ModelManager): (app: FastifyInstance) => void {
  const origins = checkOrigins(o.corsOrigins ?? []);
  const checkHost = hostCheck(checkAllowedHosts(o.allowedHosts ?? []));
  const keys = o.keys;
  const limiter = o.limiter ?? new InProcessRateLimiter();
  const usage = o.usage;
  const now = o.now ?? Date.now;
  const sessions = new UiSessions(now);
  // The served model's names (file name, alias, "name:latest") compare as one.
  const canonical = (name: string) => {
    return models?.canonical(name) ?? name;
  };

  function entry(request: FastifyRequest, reply: FastifyReply, status: number): UsageEntry {
    const auth = request.hearthAuth;
    const stats = request.hearth ?? {};
    return {
      at: now(), keyId: auth?.key?.id, requestId: String(request.id), method: request.method, route: stats.route ?? request.routeOptions.url ?? 'unmatched',
      model: stats.model ?? auth?.model, promptTokens: stats.promptTokens, completionTokens: stats.completionTokens,
      // a 200 that carries a failure (an MCP tool's error result) is recorded with the failure's status
      status: (status < 400 ? stats.status : undefined) ?? status, durationMs: Math.round(reply.elapsedTime * 100) / 100, client: request.ip,
      provider: stats.provider, upstreamModel: stats.upstreamModel, ...(stats.provider !== undefined ? { tokensEstimated: stats.tokensEstimated ?? false } : {}),
    };
  }

  /** Writes the request's usage row once; resolves when it is committed (a failure is logged, never thrown). */
  async function record(request: FastifyRequest, reply: FastifyReply, status: number): Promise<void> {
    const auth = request.hearthAuth;
    if (!usage || !auth || auth.recorded) return;
    auth.recorded = true;
    try {
      await usage.record(entry(request, reply, status));
      // Each MCP tool call of the request's tool loop: a row of its own, the request's id, route mcp:SERVER/TOOL,
      // status 200 for a result (the tool's own error too) and 502 where the server failed.
      const stats = request.hearth ?? {};
      for (const c of stats.mcpCalls ?? []) {
        await usage.record({
          at: now(), keyId: auth.key?.id, requestId: String(request.id), method: 'MCP', route: `mcp:${c.server}/${c.name}`,
          model: stats.model ?? auth.model, status: c.output !== undefined ? 200 : 502, durationMs: Math.round(c.durationMs * 100) / 100, client: request.ip,
        });
      }
    } catch (err) {
      // A full disk or a database that went away must not take the response down with it.
      request.log.error({ err: (err as Error).message }, 'usage audit write failed');
    }
  }

  function finish(request: FastifyRequest, reply: FastifyReply): void {
    const auth = request.hearthAuth;
    const stats = request.hearth ?? {};
    if (auth?.admitted && auth.key) {
      try {
        const pending = limiter.release(auth.key.id, auth.key, (stats.promptTokens ?? 0) + (stats.completionTokens ?? 0), auth.ticket);
        if (pending instanceof Promise) pending.catch((err: Error) => request.log.error({ err: err.message }, 'rate limiter release failed'));
      } catch (err) {
        request.log.error({ err: (err as Error).message }, 'rate limiter release failed');
      }
    }
    // Rows not written before the end: the client left (499), or a reply that bypassed onSend.
    void record(request, reply, reply.raw.writableFinished ? reply.statusCode : 499);
  }

  function refuse(reply: FastifyReply, a: Exclude<Admission, { ok: true }>, key: ApiKey): never {
    reply.header('retry-after', String(Math.ceil(a.retryAfterMs / 1000))).header('retry-after-ms', String(a.retryAfterMs));
    const what = a.limit === 'requests' ? `${key.rpm} requests` : a.limit === 'tokens' ? `${key.tpm} tokens` : `${key.concurrency} concurrent requests`;
    const per = a.limit === 'concurrency' ? '' : ` per ${formatReset(limiter.windowMs)}`;
    throw new HearthError('rate_limited', `rate limit reached for ${a.limit}: this key allows ${what}${per}; retry after ${formatReset(a.retryAfterMs)}`);
  }

  return (app) => {
    app.decorateRequest('hearthAuth', null);
    const missing: string[] = [];
    unlisted.set(app, missing);
    app.addHook('onRoute', (route) => {
      for (const m of [route.method].flat()) {
        if (m !== 'HEAD' && !route.url.startsWith('/admin/') && !isListed(m, route.url)) missing.push(`${m} ${route.url}`);
      }
    });
    app.addHook('onRequest', async (request, reply) => {
      const auth: RequestAuth = { admitted: false };
      request.hearthAuth = auth;
      reply.raw.once('close', () => finish(request, reply));
      checkHost(request);
      const access = routeAccess(request.method, request.routeOptions.url);
      if (access === 'open') return;
      if (handleOrigin(origins, request, reply)) return reply;
      if (!keys || (access === 'metrics' && o.metricsOpen)) return;
      try {
        // the web UI's requests carry its session cookie instead of a key (ui-session.ts)
        auth.key = (!carriesKey(request) && (await sessionKey(sessions, keys, request, now()))) || (await authenticate(keys, request.headers));
      } catch (e) {
        reply.header('www-authenticate', 'Bearer realm="hearth"');
        throw e;
      }
      authorize(auth.key, access);
      const key = auth.key;
      if (key.rpm === undefined && key.tpm === undefined && key.concurrency === undefined) return;
      const a = await limiter.admit(key.id, key);
      reply.headers(rateHeaders(a.state));
      if (!a.ok) refuse(reply, a, key);
      auth.admitted = true;
      auth.ticket = a.ticket;
    });
    if (usage) {
      app.addHook('onSend', async (request, reply, payload) => {
        const auth = request.hearthAuth;
        if (!auth || auth.recorded) return payload;
        if (payload !== null && typeof payload === 'object' && typeof (payload as NodeJS.ReadableStream).pipe === 'function') {
          // A stream: its frames pass through as they come; its end waits for the row.
          // pipeline: a client that leaves destroys the source too, as it would without this step.
          return pipeline(payload as Readable, new Transform({
            transform(chunk, _enc, done) {
              done(null, chunk);
            },
            flush(done) {
              record(request, reply, reply.statusCode).then(() => done(), done);
            },
          }), () => {});
        }
        await record(request, reply, reply.statusCode);
        return payload;
      });
    }
    app.addHook('preHandler', async (request) => {
      const auth = request.hearthAuth;
      if (!auth?.key) return;
      // an admin body's `name` is a key's name, not Ollama's older model field
      if (!request.routeOptions.url?.startsWith('/admin/')) auth.model = requestedModel(request.body, request.params);
      if (auth.key.models) checkModel(auth.key, auth.model, canonical);
    });
    if (keys) adminKeyRoutes(app, keys, usage, now, (id) => sessions.dropKey(id));
    if (usage) adminUsageRoutes(app, usage, keys, now);
    uiSessionRoutes(app, keys, sessions, now);
  };
}
