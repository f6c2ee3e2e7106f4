// Limits on connections, so that slow or idle clients cannot hold the server: the request's headers and its body
// must arrive within their timeouts (Node's headersTimeout and requestTimeout, which stop counting once the request
// is received, so a response that takes minutes to generate is never cut), an idle keep-alive connection closes
// after its timeout, and one address may hold only so many connections at once (the next is closed on accept).

import type { Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import { HearthError } from '../util/errors.ts';

export interface ConnectionLimits {
  /** Milliseconds for a request's headers to arrive, from the connection or the end of the previous response. */
  headersMs?: number;
  /** Milliseconds for the whole request, headers and body, to arrive (not the response). */
  bodyMs?: number;
  /** Milliseconds an idle keep-alive connection stays open after a response. */
  idleMs?: number;
  /** Connections one client address may hold open at once (0 = no limit). */
  perAddress?: number;
}

export const DEFAULT_CONNECTION_LIMITS: Required<ConnectionLimits> = {
  headersMs: 30_000, bodyMs: 120_000, idleMs: 60_000, perAddress: 128,
};

export interface ResolvedLimits extends Required<ConnectionLimits> {
  /** Options for http.createServer (fastify's `http`). */
  http: ServerOptions;
}

/** Checks the limits at startup and fills in the defaults. */
export function resolveConnectionLimits(o: ConnectionLimits = {}): ResolvedLimits {
  const l = { ...DEFAULT_CONNECTION_LIMITS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) };
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isInteger(v) || v < (k === 'perAddress' ? 0 : 1)) {
      throw new HearthError('invalid_argument', `connection limit ${k} must be a ${k === 'perAddress' ? 'non-negative' : 'positive'} integer; got ${v}`);
    }
  }
  if (l.bodyMs < l.headersMs) {
    throw new HearthError('invalid_argument', `the body timeout (${l.bodyMs} ms) must be at least the header timeout (${l.headersMs} ms)`);
  }
  // Node checks the two request timeouts on an interval: a quarter of the shorter, so a timeout fires within 25% late.
  const interval = Math.max(50, Math.min(30_000, Math.floor(l.headersMs / 4)));
  return { ...l, http: { headersTimeout: l.headersMs, requestTimeout: l.bodyMs, connectionsCheckingInterval: interval } as ServerOptions };
}

/** The idle timeout and the per-address cap on a listening server. */
export function applyConnectionLimits(server: Server, l: ResolvedLimits): void {
  server.keepAliveTimeout = l.idleMs;
  if (l.perAddress === 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const addr = socket.remoteAddress ?? '';
    const n = open.get(addr) ?? 0;
    if (n >= l.perAddress) {
      socket.destroy();
      return;
    }
    open.set(addr, n + 1);
    socket.once('close', () => {
      const left = (open.get(addr) ?? 1) - 1;
      if (left > 0) open.set(addr, left);
      else open.delete(addr);
    });
  });
}
