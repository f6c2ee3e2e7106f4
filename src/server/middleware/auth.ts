// Authentication and permissions, as pure functions over headers and route names (the fastify wiring is in
// security.ts): which key a request carries, which scope its route needs, and whether its model is allowed.

import type { IncomingHttpHeaders } from 'node:http';
import { HearthError } from '../../util/errors.ts';
import type { ApiKey, Scope, Verification } from '../../store/keys.ts';

/** What authentication needs from the key store (every KeyRepository implements it). */
export interface KeyVerifier {
  verify(secret: string): Verification | Promise<Verification>;
}

/** What a route needs: no key at all, any valid key, or a key with a scope. */
export type Access = 'open' | 'any' | Scope;

const INFERENCE = [
  'POST /v1/chat/completions', 'POST /v1/completions', 'POST /v1/embeddings', 'POST /v1/messages', 'POST /v1/messages/count_tokens',
  'POST /api/generate', 'POST /api/chat', 'POST /api/embed', 'POST /api/embeddings',
  'POST /v1/rerank', 'POST /rerank', 'POST /v1/reranking', 'POST /reranking',
  // llama-server's native endpoints (routes/llama-server.ts)
  'POST /completion', 'POST /completions', 'POST /infill', 'POST /tokenize', 'POST /detokenize', 'POST /apply-template',
  'POST /embedding', 'POST /embeddings',
  // The Responses API; a stored response is read and deleted with the key that created it (store/responses.ts).
  'POST /v1/responses', 'GET /v1/responses/:id', 'DELETE /v1/responses/:id', 'GET /v1/responses/:id/input_items',
  // The knowledge base (routes/knowledge.ts): files and vector stores are the server's, shared by every key with this scope.
  'POST /v1/files', 'GET /v1/files', 'GET /v1/files/:id', 'DELETE /v1/files/:id', 'GET /v1/files/:id/content',
  'POST /v1/vector_stores', 'GET /v1/vector_stores', 'GET /v1/vector_stores/:id', 'POST /v1/vector_stores/:id', 'DELETE /v1/vector_stores/:id',
  'POST /v1/vector_stores/:id/files', 'GET /v1/vector_stores/:id/files', 'GET /v1/vector_stores/:id/files/:file_id',
  'DELETE /v1/vector_stores/:id/files/:file_id', 'POST /v1/vector_stores/:id/search',
  // Conversations, owned by the key that created them as stored responses are (store/conversations.ts).
  'POST /v1/conversations', 'GET /v1/conversations', 'GET /v1/conversations/:id', 'POST /v1/conversations/:id', 'DELETE /v1/conversations/:id',
  'GET /v1/conversations/:id/items', 'POST /v1/conversations/:id/items', 'GET /v1/conversations/:id/items/:item_id',
  'DELETE /v1/conversations/:id/items/:item_id', 'GET /v1/conversations/:id/search',
  // The image-analysis service (routes/analyze.ts); a batch is read and cancelled with the key that created it.
  'POST /api/v1/analyze', 'POST /api/v1/batch', 'GET /api/v1/batch/:id', 'DELETE /api/v1/batch/:id', 'GET /api/v1/models',
];
// The assistant (routes/agent.ts): a task runs in its key's own workspaces; an approval is answered by an admin key or
// by the key that started its task, which the route checks (so any valid key reaches it).
const AGENT = ['POST /api/v1/agent/tasks', 'GET /api/v1/agent/tasks/:id'];
const APPROVALS = ['GET /api/v1/approvals', 'GET /api/v1/approvals/:id', 'POST /api/v1/approvals/:id'];
// GET /props and /slots describe the served model; POST /props changes the server's global properties: admin.
const MODELS_READ = ['GET /v1/models', 'GET /v1/models/*', 'GET /api/tags', 'GET /api/ps', 'POST /api/show', 'GET /props', 'GET /slots'];
const MODELS_WRITE = ['POST /api/pull', 'POST /api/push', 'POST /api/create', 'POST /api/copy', 'DELETE /api/delete'];

// The web UI: its static files hold no secret; its session routes check the key themselves (ui-session.ts).
const UI = ['GET /ui', 'GET /ui/', 'GET /ui/*', 'GET /ui/api/session', 'POST /ui/api/session', 'DELETE /ui/api/session'];

const MCP = ['POST /mcp', 'GET /mcp', 'DELETE /mcp'];

const ROUTE_ACCESS = new Map<string, Access>([
  ['GET /health', 'open'],
  ...UI.map((r) => [r, 'open'] as const),
  ['GET /v1/health', 'open'],
  ['GET /health/live', 'open'],
  ['GET /health/ready', 'open'],
  ['GET /', 'any'],
  ['GET /api/version', 'any'],
  ['GET /metrics', 'metrics'],
  // MCP (routes/mcp.ts): any valid key reaches the transport; each tool checks its own scope (mcp-server/tools.ts TOOL_SCOPES).
  ...MCP.map((r) => [r, 'any'] as const),
  ...INFERENCE.map((r) => [r, 'inference'] as const),
  ...AGENT.map((r) => [r, 'inference'] as const),
  ...APPROVALS.map((r) => [r, 'any'] as const),
  ...MODELS_READ.map((r) => [r, 'models:read'] as const),
  ...MODELS_WRITE.map((r) => [r, 'models:write'] as const),
  ['POST /props', 'admin'],
]);

/**
 * The access a route needs. `route` is the matched route pattern (undefined when none matched: any valid key,
 * then the 404). A route this table does not know needs `admin`, so a new endpoint is closed until listed.
 */
export function routeAccess(method: string, route: string | undefined): Access {
  if (route === undefined) return 'any';
  const m = method === 'HEAD' ? 'GET' : method;
  return ROUTE_ACCESS.get(`${m} ${route}`) ?? 'admin';
}

/** Whether the access table names this route (else it needs admin). */
export function isListed(method: string, route: string): boolean {
  return ROUTE_ACCESS.has(`${method === 'HEAD' ? 'GET' : method} ${route}`);
}

const REASONS: Record<Exclude<Verification, { ok: true }>['reason'], string> = {
  malformed: 'the API key is malformed: hearth keys are "hth_" followed by 43 letters and digits',
  unknown: 'the API key is not valid',
  revoked: 'the API key has been revoked',
  expired: 'the API key has expired',
};

function unauthorized(message: string): HearthError {
  return new HearthError('unauthorized', message);
}

/** The secret a request presents: `Authorization: Bearer …` or `x-api-key` (Anthropic's header). */
export function presentedSecret(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  const xKey = headers['x-api-key'];
  let bearer: string | undefined;
  if (auth !== undefined) {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
    if (!m) throw unauthorized('the Authorization header must be "Bearer <key>"');
    bearer = m[1];
  }
  if (Array.isArray(xKey)) throw unauthorized('send one x-api-key header');
  const other = xKey?.trim();
  if (bearer !== undefined && other !== undefined && other !== bearer) {
    throw unauthorized('the Authorization and x-api-key headers carry different keys');
  }
  return bearer ?? other;
}

/**
 * The active key a request carries; `unauthorized` says why there is none. Synchronous over a synchronous store
 * (SQLite), a promise over PostgreSQL, whose failure to answer is `database_unavailable`.
 */
export function authenticate(keys: KeyVerifier, headers: IncomingHttpHeaders): ApiKey | Promise<ApiKey> {
  const secret = presentedSecret(headers);
  if (!secret) throw unauthorized('no API key: send "Authorization: Bearer <key>" or "x-api-key: <key>"');
  const check = (v: Verification): ApiKey => {
    if (!v.ok) throw unauthorized(REASONS[v.reason]);
    return v.key;
  };
  const v = keys.verify(secret);
  return v instanceof Promise ? v.then(check) : check(v);
}

/** `forbidden` unless the key may use a route that needs `access`. */
export function authorize(key: ApiKey, access: Access): void {
  if (access === 'open' || access === 'any') return;
  if (!key.scopes.includes(access)) {
    throw new HearthError('forbidden', `this API key lacks the "${access}" scope (it has: ${key.scopes.join(', ')})`);
  }
}

/** The model a request body or path names, if any (`model`, or Ollama's older `name`). */
export function requestedModel(body: unknown, params: unknown): string | undefined {
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const b = body as { model?: unknown; name?: unknown };
    if (typeof b.model === 'string') return b.model;
    if (typeof b.name === 'string') return b.name;
  }
  const p = (params ?? {}) as Record<string, unknown>;
  return typeof p['*'] === 'string' ? p['*'] : undefined;
}

/**
 * `forbidden` when the key has a model allow-list and `model` is not on it. Names compare after `canonical`
 * (the served model's file name, alias and "name:latest" are one model).
 */
export function checkModel(key: ApiKey, model: string | undefined, canonical: (name: string) => string): void {
  if (!key.models || model === undefined) return;
  const want = canonical(model);
  if (!key.models.some((m) => canonical(m) === want)) {
    throw new HearthError('forbidden', `this API key may not use model "${model}" (allowed: ${key.models.join(', ')})`);
  }
}
