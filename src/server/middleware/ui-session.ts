// Sessions of the web UI (/ui/). A person signs in once with an API key (POST /ui/api/session); the server keeps
// the key's id under a random session id, in this process's memory only, and the browser holds that id in an
// HttpOnly, SameSite=Strict cookie, so page scripts never see the key or the session, and the key is never stored
// in the browser. Each request that authenticates by the cookie acts as that key (its scopes, limits and audit),
// checked again on every request, so a revoked key's sessions stop at once.
//
// CSRF: a request that changes state (any method but GET, HEAD and OPTIONS) and authenticates by the cookie must
// carry the session's token in `x-hearth-csrf`. The token is handed out only in the JSON answer of the session
// routes, which answer same-origin requests only; a page of another origin can send the cookie (same-site pages
// on another port can), but cannot read the token. A server without keys has no sessions: its browser requests
// fall under the origin policy alone (cors.ts), which refuses other sites' pages.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HearthError } from '../../util/errors.ts';
import { Fields } from '../../api/validate.ts';
import { keyStatus, SCOPES, type ApiKey } from '../../store/keys.ts';
import type { KeyRepository } from '../../store/repository.ts';

export const SESSION_COOKIE = 'hearth_session';
export const CSRF_HEADER = 'x-hearth-csrf';
/** A session lasts 12 hours from sign-in. */
export const SESSION_MS = 12 * 3600_000;
const MAX_SESSIONS = 10_000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface Session {
  keyId: string;
  csrf: string;
  expiresAt: number;
}

/** The value of one cookie in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function sameToken(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** Sessions by the SHA-256 of their id (a heap dump does not hand out live cookies). */
export class UiSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** A new session for the key: the cookie value and the CSRF token. */
  create(key: ApiKey): { id: string; csrf: string } {
    const now = this.now();
    for (const [h, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(h);
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    this.sessions.set(digest(id).toString('hex'), { keyId: key.id, csrf, expiresAt: now + SESSION_MS });
    return { id, csrf };
  }

  /** The live session a cookie value names. */
  get(id: string): (Session & { id: string }) | undefined {
    const h = digest(id).toString('hex');
    const s = this.sessions.get(h);
    if (!s) return undefined;
    if (s.expiresAt <= this.now()) {
      this.sessions.delete(h);
      return undefined;
    }
    return { ...s, id };
  }

  delete(id: string): void {
    this.sessions.delete(digest(id).toString('hex'));
  }

  /** Drops every session of a key (revoked). */
  dropKey(keyId: string): void {
    for (const [h, s] of this.sessions) if (s.keyId === keyId) this.sessions.delete(h);
  }
}

/** Whether the request carries a key of its own (then the cookie is not looked at). */
export function carriesKey(request: FastifyRequest): boolean {
  return request.headers.authorization !== undefined || request.headers['x-api-key'] !== undefined;
}

/**
 * The key of the session the request's cookie names, or undefined when it has no session cookie. Throws
 * `unauthorized` for an unknown or expired session or a key no longer active, `forbidden` for a state-changing
 * request without the session's CSRF token.
 */
export async function sessionKey(sessions: UiSessions, keys: KeyRepository, request: FastifyRequest, now: number): Promise<ApiKey | undefined> {
  const id = cookieValue(request.headers.cookie, SESSION_COOKIE);
  if (id === undefined || id === '') return undefined;
  const s = sessions.get(id);
  if (!s) throw new HearthError('unauthorized', 'the web UI session has expired or ended: sign in again');
  if (!SAFE_METHODS.has(request.method)) {
    const sent = request.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || !sameToken(sent, s.csrf)) {
      throw new HearthError('forbidden', `a state-changing request from the web UI must carry the session's ${CSRF_HEADER} token`);
    }
  }
  const key = await keys.get(s.keyId);
  if (!key || keyStatus(key, now) !== 'active') {
    sessions.delete(id);
    throw new HearthError('unauthorized', 'the API key of this web UI session is no longer active: sign in again');
  }
  return key;
}

/**
 * Refuses a request to the session routes from any page but the server's own: a browser says where a fetch comes
 * from in Sec-Fetch-Site, and in Origin for every POST and DELETE.
 */
function sameOriginOnly(request: FastifyRequest): void {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new HearthError('forbidden', 'the web UI session routes answer the web UI\'s own pages only');
  }
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== ownOrigin(request)) {
    throw new HearthError('forbidden', 'the web UI session routes answer the web UI\'s own pages only');
  }
}

/** The origin this request was addressed to (its Host), as a page served by this server has it. */
export function ownOrigin(request: FastifyRequest): string | undefined {
  const host = request.headers.host;
  return host === undefined ? undefined : `${request.protocol}://${host}`;
}

function cookie(request: FastifyRequest, value: string, maxAgeS: number): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure}`;
}

function who(key: ApiKey) {
  return { id: key.id, name: key.name, prefix: key.prefix, scopes: key.scopes, models: key.models ?? null };
}

/**
 * GET /ui/api/session (who is signed in, and the CSRF token), POST (sign in: {key}), DELETE (sign out). Without a
 * key store every scope is the local user's and there is nothing to sign in to.
 */
export function uiSessionRoutes(app: FastifyInstance, keys: KeyRepository | undefined, sessions: UiSessions, now: () => number): void {
  const open = { auth: false, signed_in: true, key: null, scopes: [...SCOPES], csrf: null };
  const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store');

  app.get('/ui/api/session', async (request, reply) => {
    sameOriginOnly(request);
    noStore(reply);
    if (!keys) return open;
    const id = cookieValue(request.headers.cookie, SESSION_COOKIE);
    const s = id ? sessions.get(id) : undefined;
    const key = s && (await keys.get(s.keyId));
    if (!s || !key || keyStatus(key, now()) !== 'active') return { auth: true, signed_in: false };
    return { auth: true, signed_in: true, key: who(key), scopes: key.scopes, csrf: s.csrf };
  });

  app.post('/ui/api/session', async (request, reply) => {
    sameOriginOnly(request);
    noStore(reply);
    if (!keys) return open;
    const f = new Fields(request.body);
    const secret = f.required('key', (x, k) => x.string(k, { nonEmpty: true }));
    f.rejectUnknown();
    const v = await keys.verify(secret.trim());
    if (!v.ok) throw new HearthError('unauthorized', v.reason === 'malformed' ? 'that is not a hearth API key ("hth_" and 43 letters and digits)' : `the API key is ${v.reason === 'unknown' ? 'not valid' : v.reason}`);
    const { id, csrf } = sessions.create(v.key);
    request.log.info({ key_id: v.key.id }, 'web UI sign-in');
    reply.header('set-cookie', cookie(request, id, SESSION_MS / 1000));
    return { auth: true, signed_in: true, key: who(v.key), scopes: v.key.scopes, csrf };
  });

  app.delete('/ui/api/session', async (request, reply) => {
    sameOriginOnly(request);
    noStore(reply);
    const id = cookieValue(request.headers.cookie, SESSION_COOKIE);
    if (id) {
      const s = sessions.get(id);
      if (s && !sameToken(String(request.headers[CSRF_HEADER] ?? ''), s.csrf)) {
        throw new HearthError('forbidden', `signing out needs the session's ${CSRF_HEADER} token`);
      }
      sessions.delete(id);
    }
    reply.header('set-cookie', cookie(request, '', 0));
    return { auth: keys !== undefined, signed_in: false };
  });
}
