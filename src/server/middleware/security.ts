// The security layer of the HTTP server, as one fastify plugin: browser origins (cors.ts), API keys and scopes
// (auth.ts), per-key rate limits (rate-limit.ts), model allow-lists, the usage audit, the admin key and usage routes,
// and the web UI's sessions (ui-session.ts: a cookie standing for a key, with a CSRF token).
//
// Order per request: onRequest checks the Host (host-check.ts), the Origin, the key, the route's scope and the rate
// limits before the body is even read; preHandler checks the model once the body is parsed; when the response
// closes (finished, failed or abandoned by the client) the request's rate slot is released with its tokens and its
// usage row is written.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HearthError } from '../../util/errors.ts';
import type { ApiKey, KeyStore } from '../../store/keys.ts';
import type { UsageLog } from '../../store/usage.ts';
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
  keys?: KeyStore;
  /** Per-key limits (default: in-process, one-minute windows). */
  limiter?: RateLimiter;
  /** Where each request's usage row goes; none: no audit. */
  usage?: UsageLog;
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

  function finish(request: FastifyRequest, reply: FastifyReply): void {
    const auth = request.hearthAuth;
    const stats = request.hearth ?? {};
    try {
      if (auth?.admitted && auth.key) {
        const pending = limiter.release(auth.key.id, auth.key, (stats.promptTokens ?? 0) + (stats.completionTokens ?? 0));
        if (pending instanceof Promise) pending.catch((err: Error) => request.log.error({ err: err.message }, 'rate limiter release failed'));
      }
      usage?.record({
        at: now(), keyId: auth?.key?.id, requestId: String(request.id), method: request.method, route: stats.route ?? request.routeOptions.url ?? 'unmatched',
        model: stats.model ?? auth?.model, promptTokens: stats.promptTokens, completionTokens: stats.completionTokens,
        status: reply.raw.writableFinished ? (reply.statusCode < 400 ? stats.status : undefined) ?? reply.statusCode : 499, durationMs: Math.round(reply.elapsedTime * 100) / 100, client: request.ip,
        provider: stats.provider, upstreamModel: stats.upstreamModel, ...(stats.provider !== undefined ? { tokensEstimated: stats.tokensEstimated ?? false } : {}),
      });
      // Each MCP tool call of the request's tool loop: a row of its own, the request's id, route mcp:SERVER/TOOL,
      // status 200 for a result (the tool's own error too) and 502 where the server failed.
      for (const c of stats.mcpCalls ?? []) {
        usage?.record({
          at: now(), keyId: auth?.key?.id, requestId: String(request.id), method: 'MCP', route: `mcp:${c.server}/${c.name}`,
          model: stats.model ?? auth?.model, status: c.output !== undefined ? 200 : 502, durationMs: Math.round(c.durationMs * 100) / 100, client: request.ip,
        });
      }
    } catch (err) {
      // The answer has gone out; a full disk must not take the server down with it.
      request.log.error({ err: (err as Error).message }, 'usage audit write failed');
    }
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
        auth.key = (!carriesKey(request) && sessionKey(sessions, keys, request, now())) || authenticate(keys, request.headers);
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
    });
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
