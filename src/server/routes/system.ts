// Operational routes: GET /health (503 while the model loads, 200 when ready) and GET /metrics (Prometheus).

import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../respond.ts';
import { totalStats } from '../stats.ts';

export function systemRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/health', async (_request, reply) => {
    const state = ctx.models.state;
    if (state === 'ready') {
      const providers = ctx.models.loaded();
      return { status: 'ok', model: providers.map((p) => p.card.id).join(','), ...totalStats(providers) };
    }
    reply.code(503).header('retry-after', '1');
    return state === 'loading' ? { status: 'loading' } : { status: 'error', error: ctx.models.failure?.message };
  });

  app.get('/metrics', async (_request, reply) => {
    const registry = ctx.metrics?.registry;
    if (!registry) return reply.code(404).send({ error: 'metrics are disabled' });
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
