// Browser access. Off by default: no CORS headers, and a request that carries an Origin header (every
// cross-site fetch or form post from a web page does; other clients send none) is refused with 403, so a page
// the user visits cannot drive a server on their machine. --cors-origin names the origins allowed ("*": any).

import type { FastifyReply, FastifyRequest } from 'fastify';
import { HearthError } from '../../util/errors.ts';

const ALLOW_METHODS = 'GET, POST, DELETE, OPTIONS';
const EXPOSE = 'x-request-id, hearth-ignored-fields, retry-after, retry-after-ms, x-ratelimit-limit-requests, x-ratelimit-remaining-requests, ' +
  'x-ratelimit-reset-requests, x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens';
const DEFAULT_ALLOW_HEADERS = 'authorization, content-type, x-api-key, anthropic-version, anthropic-beta, x-stainless-retry-count';

/** Checks the allow-list at startup: each entry is "*" or an origin ("https://app.example:8080", no path). */
export function checkOrigins(origins: readonly string[]): Set<string> {
  for (const o of origins) {
    if (o === '*') continue;
    let url: URL | undefined;
    try {
      url = new URL(o);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.origin !== o) {
      throw new HearthError('invalid_argument', `--cors-origin "${o}" is not an origin like https://app.example or http://localhost:3000 (scheme, host, optional port, no path)`);
    }
  }
  return new Set(origins);
}

/**
 * Handles the Origin header of one request: nothing without one; 403 for an origin not allowed; the CORS
 * headers for an allowed one, and the whole answer (204) for a preflight. Returns true when it answered.
 */
export function handleOrigin(allowed: ReadonlySet<string>, request: FastifyRequest, reply: FastifyReply): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  if (!allowed.has(origin) && !allowed.has('*')) {
    throw new HearthError('forbidden', `requests from browser origin ${JSON.stringify(origin)} are not allowed; start the server with --cors-origin ${origin} to allow them`);
  }
  reply.header('access-control-allow-origin', origin).header('vary', 'origin').header('access-control-expose-headers', EXPOSE);
  if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
    const asked = request.headers['access-control-request-headers'];
    reply.code(204)
      .header('access-control-allow-methods', ALLOW_METHODS)
      .header('access-control-allow-headers', typeof asked === 'string' && asked ? asked : DEFAULT_ALLOW_HEADERS)
      .header('access-control-max-age', '600')
      .send();
    return true;
  }
  return false;
}
