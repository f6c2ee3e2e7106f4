// Operational routes: GET /health (503 while the model loads, 200 when ready) and GET /metrics (Prometheus).

import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../respond.ts';

export function systemRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/health', async (_request, reply) => {
    const state = ctx.host.state;
    if (state === 'ready') {
      const { card, scheduler } = ctx.host.ready();
      return { status: 'ok', model: card.id, ...scheduler.stats };
    }
    reply.code(503).header('retry-after', '1');
    return state === 'loading' ? { status: 'loading' } : { status: 'error', error: ctx.host.failure?.message };
  });

  app.get('/metrics', async (_request, reply) => {
    const registry = ctx.metrics?.registry;
    if (!registry) return reply.code(404).send({ error: 'metrics are disabled' });
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
