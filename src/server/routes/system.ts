// Operational routes: GET /health and /v1/health (503 while a model given at start loads or after it failed, 200
// otherwise: models loaded on demand do not make the server unhealthy) and GET /metrics (Prometheus). The bodies
// are llama-server's as well: `status: "ok"` when ready, and while loading its `error` object ("Loading model").

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { loadingBody } from '../../api/llama-server/props.ts';
import type { RouteContext } from '../respond.ts';
import { totalStats } from '../stats.ts';

export function systemRoutes(app: FastifyInstance, ctx: RouteContext): void {
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

  app.get('/metrics', async (_request, reply) => {
    const registry = ctx.metrics?.registry;
    if (!registry) return reply.code(404).send({ error: 'metrics are disabled' });
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
