// Operational routes: GET /health and /v1/health (503 while a model given at start loads or after it failed, 200
// otherwise: models loaded on demand do not make the server unhealthy), GET /health/live (the process answers),
// GET /health/ready (the store answers and the default model is loaded or loadable, and the server is not
// draining: 503 with the reason otherwise) and GET /metrics (Prometheus). /health's bodies are llama-server's as
// well: `status: "ok"` when ready, and while loading its `error` object ("Loading model").

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { loadingBody } from '../../api/llama-server/props.ts';
import type { RouteContext } from '../respond.ts';
import { totalStats } from '../stats.ts';
import type { Drainer } from '../drain.ts';

export interface ReadinessOptions {
  /** Throws (or rejects) when the store cannot be reached. */
  store?: () => void | Promise<void>;
  /** The model a ready server must be able to answer for at once (hearth serve: its first MODEL). */
  model?: string;
  /** How long the store check may take (default 2000 ms). */
  storeTimeoutMs?: number;
}

async function checkStore(o: ReadinessOptions): Promise<string | undefined> {
  if (!o.store) return undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(o.store),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${o.storeTimeoutMs ?? 2000} ms`)), o.storeTimeoutMs ?? 2000))),
    ]);
    return undefined;
  } catch (e) {
    return `the store is not reachable: ${(e as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}

export function systemRoutes(app: FastifyInstance, ctx: RouteContext, ready: ReadinessOptions = {}, drainer?: Drainer): void {
  const health = async (_request: FastifyRequest, reply: FastifyReply) => {
    const h = ctx.models.health();
    // One bad upstream does not make the server unhealthy: each provider's state is reported beside it.
    const providers = ctx.gateway ? { providers: ctx.gateway.health() } : {};
    if (h.status === 'ok') {
      return { status: 'ok', model: h.loaded.join(','), loading: h.loading, ...totalStats(h.providers), ...providers };
    }
    reply.code(503).header('retry-after', '1');
    return h.status === 'loading' ? { status: 'loading', ...loadingBody() } : h;
  };
  app.get('/health', health);
  app.get('/v1/health', health);

  app.get('/health/live', async () => ({ status: 'ok' }));
  app.get('/health/ready', async (_request, reply) => {
    const reasons: string[] = [];
    if (drainer?.draining) reasons.push('the server is shutting down');
    const store = await checkStore(ready);
    if (store) reasons.push(store);
    const model = ready.model === undefined ? undefined : ctx.models.readiness(ready.model);
    if (model && !model.ready) reasons.push(model.reason);
    const checks = {
      store: ready.store ? (store ? 'error' : 'ok') : 'none',
      ...(model ? { model: { name: ready.model, state: model.state } } : {}),
    };
    if (!reasons.length) return { status: 'ready', checks };
    reply.code(503).header('retry-after', '1');
    return { status: 'not_ready', reason: reasons.join('; '), checks };
  });

  app.get('/metrics', async (_request, reply) => {
    const registry = ctx.metrics?.registry;
    if (!registry) return reply.code(404).send({ error: 'metrics are disabled' });
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
