// Error mapping: every HearthError code has one HTTP status; fastify's own errors (bad JSON, body too large,
// content type) become HearthErrors first, so each dialect's error body is built from one ErrorInfo.

import { HearthError, type ErrorCode } from '../util/errors.ts';
import { FieldError } from '../api/validate.ts';
import { errorBody, type Dialect, type ErrorInfo } from '../api/errors.ts';

export const STATUS: Record<ErrorCode, number> = {
  invalid_argument: 400,
  unsupported_field: 400,
  invalid_image: 400,
  context_length_exceeded: 400,
  template_error: 400,
  tokenizer_invalid: 400,
  not_found: 404,
  conflict: 409,
  request_too_large: 413,
  unauthorized: 401,
  forbidden: 403,
  unsupported_media_type: 415,
  rate_limited: 429,
  // The client went away; nobody reads this status, but the request log shows it (nginx's 499).
  aborted: 499,
  unavailable: 503,
  queue_full: 503,
  timeout: 504,
  io_error: 500,
  gguf_invalid: 500,
  gguf_unsupported: 500,
  unsupported_type: 500,
  unsupported_architecture: 500,
  model_invalid: 500,
  out_of_memory: 500,
  // As Ollama ("model requires more system memory ... than is available"), so its clients see what they expect.
  insufficient_memory: 500,
  backend_unavailable: 500,
  sandbox_unavailable: 503,
  database_too_new: 500,
  not_implemented: 501,
  upstream_error: 502,
  tool_error: 502,
  internal: 500,
};

/** Codes a client may retry after waiting; their responses carry Retry-After. */
export const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['queue_full', 'unavailable']);

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
}

/** Any thrown value as a HearthError (fastify's request errors keep their meaning; anything else is internal). */
export function toHearthError(e: unknown): HearthError {
  if (e instanceof HearthError) return e;
  const f = (e ?? {}) as FastifyLikeError;
  switch (f.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HearthError('request_too_large', `the request body is larger than the server accepts (${f.message ?? ''})`.replace(' ()', ''));
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HearthError('unsupported_media_type', 'the request body must be JSON (Content-Type: application/json)');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HearthError('invalid_argument', 'the request body is empty; send a JSON object');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HearthError('invalid_argument', 'the Content-Length header does not match the body');
  }
  if (typeof f.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500) {
    return new HearthError(f.statusCode === 404 ? 'not_found' : 'invalid_argument', f.message ?? 'bad request');
  }
  return new HearthError('internal', `internal error: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

export function errorInfo(e: unknown): ErrorInfo {
  const h = toHearthError(e);
  return { status: STATUS[h.code] ?? 500, code: h.code, message: h.message, param: h instanceof FieldError ? h.param : undefined };
}

/** A request from an Anthropic client (its SDKs send anthropic-version with every request). */
export function isAnthropic(request: { headers: Record<string, string | string[] | undefined> }): boolean {
  return request.headers['anthropic-version'] !== undefined;
}

/** llama-server's native endpoints (routes/llama-server.ts): their errors are llama-server's. */
const LLAMA_PATHS: ReadonlySet<string> = new Set(['/completion', '/completions', '/infill', '/tokenize', '/detokenize', '/apply-template',
  '/embedding', '/embeddings', '/props', '/slots']);

/**
 * Which API a path belongs to, for the shape of its error bodies; /v1/models is shared, and Anthropic's when
 * the request says so (`anthropic`: isAnthropic).
 */
export function dialectOf(url: string, anthropic = false): Dialect {
  const path = url.split('?')[0];
  if (path.startsWith('/v1/messages')) return 'anthropic';
  if (anthropic && (path === '/v1/models' || path.startsWith('/v1/models/'))) return 'anthropic';
  // Hearth's own JSON API (the assistant's tasks and approvals) answers errors as OpenAI does: code, message, param.
  if (path.startsWith('/api/v1/')) return 'openai';
  if (path.startsWith('/api/') || path === '/') return 'ollama';
  if (LLAMA_PATHS.has(path)) return 'llama';
  return 'openai';
}

export function dialectErrorBody(url: string, info: ErrorInfo, anthropic = false): object {
  return errorBody(dialectOf(url, anthropic), info);
}
