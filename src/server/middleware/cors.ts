// Browser access, as Ollama allows it. A request that carries an Origin header comes from a web page (every
// cross-site fetch or form post does; other clients send none). By default pages of this machine may call the
// server: http(s)://localhost, *.localhost, 127.0.0.1 and [::1] on any port, and the origins of desktop apps,
// editors and browser extensions (app://, file://, tauri://, vscode-webview://, vscode-file://,
// chrome-extension://, moz-extension://). Any other origin is refused with 403, so a site the user visits cannot
// drive a server on their machine. The server's own pages (the web UI, same origin) are always allowed.
// --cors-origin adds origins ("*": any); --cors-origin none refuses every other
// browser origin. `Origin: null` (file:// pages in most browsers, but also sandboxed iframes and data: URLs,
// which any site can open) is refused unless --cors-origin null names it. An allowed origin gets no
// privileges: with keys on, a browser request needs one like any other (only the preflight goes without).

import type { FastifyReply, FastifyRequest } from 'fastify';
import { HearthError } from '../../util/errors.ts';
import { isLoopback } from './host-check.ts';

const ALLOW_METHODS = 'GET, POST, DELETE, OPTIONS';
const EXPOSE = 'x-request-id, hearth-ignored-fields, hearth-context, retry-after, retry-after-ms, x-ratelimit-limit-requests, x-ratelimit-remaining-requests, ' +
  'x-ratelimit-reset-requests, x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens';
const DEFAULT_ALLOW_HEADERS = 'authorization, content-type, x-api-key, anthropic-version, anthropic-beta, x-stainless-retry-count, hearth-conversation';

/** Schemes of app, editor and extension pages, allowed by default with any host. */
export const LOCAL_SCHEMES = ['app:', 'file:', 'tauri:', 'vscode-webview:', 'vscode-file:', 'chrome-extension:', 'moz-extension:'] as const;

export interface OriginPolicy {
  /** --cors-origin none: every browser origin is refused. */
  off: boolean;
  /** "*" was given: any origin. */
  any: boolean;
  /** Origins given besides the local ones (exact match; "null" among them allows Origin: null). */
  extra: ReadonlySet<string>;
}

/** `scheme://host[:port]` with no path: an http(s) origin as URL prints it, or any other scheme's. */
function isOrigin(o: string): boolean {
  if (o === 'null') return true;
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#\s]*)$/i.exec(o);
  if (!m) return false;
  if (!/^https?$/i.test(m[1]!)) return m[2] !== '';
  try {
    return new URL(o).origin === o;
  } catch {
    return false;
  }
}

/**
 * Checks --cors-origin at startup: each entry is "*", "none" (alone), "null", or an origin such as
 * https://app.example:8080 or chrome-extension://abcdef (scheme, host, optional port, no path).
 */
export function checkOrigins(origins: readonly string[]): OriginPolicy {
  if (origins.includes('none')) {
    if (origins.length > 1) throw new HearthError('invalid_argument', '--cors-origin none refuses every browser origin; it cannot be combined with others');
    return { off: true, any: false, extra: new Set() };
  }
  for (const o of origins) {
    if (o !== '*' && !isOrigin(o)) {
      throw new HearthError('invalid_argument', `--cors-origin "${o}" is not an origin like https://app.example or http://localhost:3000 (scheme, host, optional port, no path), "*", "null" or "none"`);
    }
  }
  return { off: false, any: origins.includes('*'), extra: new Set(origins.filter((o) => o !== '*')) };
}

/** An origin of this machine's own pages and apps: allowed unless browser access is off. */
export function isLocalOrigin(origin: string): boolean {
  const m = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(origin);
  if (!m) return false;
  const scheme = m[1]!.toLowerCase();
  if ((LOCAL_SCHEMES as readonly string[]).includes(scheme)) return true;
  if (scheme !== 'http:' && scheme !== 'https:') return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.origin !== origin) return false;
  return url.hostname === 'localhost' || url.hostname.endsWith('.localhost') || isLoopback(url.hostname);
}

export function originAllowed(policy: OriginPolicy, origin: string): boolean {
  if (policy.off) return false;
  if (policy.any || policy.extra.has(origin)) return true;
  return origin !== 'null' && isLocalOrigin(origin);
}

/**
 * Handles the Origin header of one request: nothing without one; 403 for an origin not allowed; the CORS
 * headers for an allowed one, and the whole answer (204) for a preflight. Returns true when it answered.
 */
export function handleOrigin(policy: OriginPolicy, request: FastifyRequest, reply: FastifyReply): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  // The server's own pages (the web UI at /ui/) send their origin with every POST: always allowed.
  const host = request.headers.host;
  if (host !== undefined && origin === `${request.protocol}://${host}`) return false;
  if (!originAllowed(policy, origin)) {
    const why = policy.off ? 'browser access is off (--cors-origin none)' : 'only this machine\'s pages and apps are allowed by default';
    throw new HearthError('forbidden', `requests from browser origin ${JSON.stringify(origin)} are not allowed: ${why}; start the server with --cors-origin ${origin} to allow them`);
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
