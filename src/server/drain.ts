// Graceful shutdown: the requests in flight are counted (from onRequest to the response's close, finished or
// abandoned), and drain() stops accepting connections, lets those requests finish (streams to their last chunk)
// up to a deadline, then closes the app (models, the store: the usage audit is written as each response closes).
// While draining, /health/ready says so (a load balancer stops sending), and a request that still arrives on an open
// keep-alive connection gets 503 with Connection: close.

import type { FastifyInstance } from 'fastify';
import { HearthError } from '../util/errors.ts';

export interface DrainResult {
  /** Every request in flight finished before the deadline. */
  drained: boolean;
  /** Requests still running at the deadline, cut by the close. */
  cut: number;
  ms: number;
}

/** The routes that still answer while draining (a prober must see the state). */
const PROBES = new Set(['/health', '/v1/health', '/health/live', '/health/ready', '/metrics']);

export class Drainer {
  private active = 0;
  private waiters: (() => void)[] = [];
  private started: number | undefined;

  get inFlight(): number {
    return this.active;
  }

  get draining(): boolean {
    return this.started !== undefined;
  }

  /** The hooks on `app`; call before the routes. */
  install(app: FastifyInstance): void {
    app.addHook('onRequest', async (request, reply) => {
      if (this.draining) {
        reply.header('connection', 'close');
        if (!PROBES.has(request.routeOptions.url ?? '')) throw new HearthError('unavailable', 'the server is shutting down; retry on another replica');
        return;
      }
      this.active++;
      reply.raw.once('close', () => {
        this.active--;
        if (this.active === 0) for (const w of this.waiters.splice(0)) w();
      });
    });
    app.addHook('onSend', async (_request, reply) => {
      if (this.draining) reply.header('connection', 'close');
    });
  }

  private idle(timeoutMs: number): Promise<boolean> {
    if (this.active === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => (clearTimeout(timer), resolve(true)));
    });
  }

  /**
   * Stops accepting, waits up to `timeoutMs` for the requests in flight, closes `app`. `now` (a second signal) cuts
   * the wait short.
   */
  async drain(app: FastifyInstance, timeoutMs: number, now?: Promise<void>): Promise<DrainResult> {
    const t0 = Date.now();
    this.started ??= t0;
    // no new connections; idle keep-alive ones are closed (Node's server.close)
    await new Promise<void>((resolve) => {
      if (!app.server.listening) return resolve();
      app.server.close(() => {});
      resolve();
    });
    const drained = await Promise.race([this.idle(timeoutMs), ...(now ? [now.then(() => false)] : [])]);
    const cut = this.active;
    await app.close();
    return { drained, cut, ms: Date.now() - t0 };
  }
}
