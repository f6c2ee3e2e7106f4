// The web UI: the static files scripts/build-ui.js writes into build/ui/ (index.html and content-hashed assets),
// read once when the app is built and served at /ui/ from memory, gzipped for clients that take it. Every answer
// carries a strict Content-Security-Policy: scripts, styles and connections from this origin only, no inline
// script or style, no frames, no plugins, forms posting to this origin only. GET / stays Ollama's plain-text
// answer for the clients that probe it; a browser asking / for HTML is sent to /ui/ (`uiRedirect`, which runs
// before authentication, so it needs no key).

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where the build writes the UI, from this file: src/server/routes → build/ui. */
export const DEFAULT_UI_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../build/ui');

export const UI_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
  "connect-src 'self'", "manifest-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

export interface UiOptions {
  /** The built UI (default build/ui in this checkout). */
  dir?: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json', '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

interface Asset {
  type: string;
  body: Buffer;
  gzip?: Buffer;
  /** Content-hashed names never change: cached for a year; index.html is revalidated every time. */
  immutable: boolean;
}

function readAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const rel = relative(dir, path).split(sep).join('/');
        const body = readFileSync(path);
        const type = TYPES[extname(name)] ?? 'application/octet-stream';
        const gzip = /^(text|application\/(json|manifest)|image\/svg)/.test(type) && body.length > 512 ? gzipSync(body, { level: 9 }) : undefined;
        assets.set(rel, { type, body, ...(gzip ? { gzip } : {}), immutable: rel.startsWith('assets/') });
      }
    }
  };
  walk(dir);
  return assets;
}

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', UI_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cross-origin-resource-policy', 'same-origin')
    .header('permissions-policy', 'camera=(), microphone=(), geolocation=()');
}

/** Whether a request for / comes from a browser navigating to it (it prefers HTML). */
export function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return /\btext\/html\b/.test(accept);
}

/** GET / from a browser → 302 /ui/; registered before the security layer. */
export function uiRedirect(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    if ((request.method === 'GET' || request.method === 'HEAD') && request.url === '/' && wantsHtml(request)) {
      return reply.code(302).header('location', '/ui/').header('vary', 'accept').send();
    }
  });
}

export function uiRoutes(app: FastifyInstance, o: UiOptions = {}): void {
  const dir = o.dir ?? DEFAULT_UI_DIR;
  const assets = existsSync(join(dir, 'index.html')) ? readAssets(dir) : undefined;

  const send = (request: FastifyRequest, reply: FastifyReply, path: string) => {
    securityHeaders(reply);
    if (!assets) {
      return reply.code(503).type('text/plain; charset=utf-8')
        .send(`the web UI is not built (no ${join(dir, 'index.html')}): run "npm run setup" or "node scripts/build.js"\n`);
    }
    const a = assets.get(path);
    if (!a) return reply.code(404).type('text/plain; charset=utf-8').send(`no file ${path} in the web UI\n`);
    reply.type(a.type).header('cache-control', a.immutable ? 'public, max-age=31536000, immutable' : 'no-cache').header('vary', 'accept-encoding');
    if (a.gzip && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
      return reply.header('content-encoding', 'gzip').send(a.gzip);
    }
    return reply.send(a.body);
  };

  app.get('/ui', async (_request, reply) => reply.code(301).header('location', '/ui/').send());
  app.get('/ui/', async (request, reply) => send(request, reply, 'index.html'));
  app.get('/ui/*', async (request, reply) => {
    const path = (request.params as { '*': string })['*'];
    // the app routes by the hash (#/models), so any other path that is not a file is not found
    return send(request, reply, path);
  });
}
