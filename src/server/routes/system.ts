// Operational routes: GET /health (503 while a model given at start loads or after it failed, 200 otherwise: models
// loaded on demand do not make the server unhealthy) and GET /metrics (Prometheus).

import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../respond.ts';
import { totalStats } from '../stats.ts';

export function systemRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/health', async (_request, reply) => {
    const h = ctx.models.health();
    if (h.status === 'ok') {
      return { status: 'ok', model: h.loaded.join(','), loading: h.loading, ...totalStats(h.providers) };
    }
    reply.code(503).header('retry-after', '1');
    return h;
  });

  app.get('/metrics', async (_request, reply) => {
    const registry = ctx.metrics?.registry;
    if (!registry) return reply.code(404).send({ error: 'metrics are disabled' });
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
