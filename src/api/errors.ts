// Each dialect's error body for a HearthError and its HTTP status. The status itself is chosen in
// src/server/errors.ts; these only shape the JSON.

import type { ErrorCode } from '../util/errors.ts';

export type Dialect = 'openai' | 'ollama' | 'anthropic' | 'llama';

export interface ErrorInfo {
  status: number;
  code: ErrorCode;
  message: string;
  /** The request field at fault, when known. */
  param?: string;
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

function openaiType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export function openaiError(e: ErrorInfo): OpenAIErrorBody {
  const code = e.code === 'not_found' && e.param === 'model' ? 'model_not_found' : e.code;
  return { error: { message: e.message, type: openaiType(e.status), param: e.param ?? null, code } };
}

export function ollamaError(e: ErrorInfo): { error: string } {
  return { error: e.message };
}

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
}

/** Anthropic's documented error types by status. */
function anthropicType(status: number, code: ErrorCode): string {
  if (code === 'queue_full' || code === 'unavailable') return 'overloaded_error';
  if (code === 'timeout') return 'timeout_error';
  switch (status) {
    case 401: return 'authentication_error';
    case 403: return 'permission_error';
    case 404: return 'not_found_error';
    case 413: return 'request_too_large';
    case 429: return 'rate_limit_error';
  }
  return status >= 500 ? 'api_error' : 'invalid_request_error';
}

export function anthropicError(e: ErrorInfo): AnthropicErrorBody {
  return { type: 'error', error: { type: anthropicType(e.status, e.code), message: e.message } };
}

export interface LlamaErrorBody {
  error: { code: number; message: string; type: string };
}

/** llama-server's error types by status (its `format_error_response`). */
function llamaType(status: number): string {
  switch (status) {
    case 401: return 'authentication_error';
    case 403: return 'permission_error';
    case 404: return 'not_found_error';
    case 501: return 'not_supported_error';
    case 503: return 'unavailable_error';
  }
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

/** llama-server's native endpoints (/completion, /tokenize …): `{error: {code: <HTTP status>, message, type}}`. */
export function llamaError(e: ErrorInfo): LlamaErrorBody {
  return { error: { code: e.status, message: e.message, type: llamaType(e.status) } };
}

export function errorBody(dialect: Dialect, e: ErrorInfo): object {
  switch (dialect) {
    case 'openai': return openaiError(e);
    case 'ollama': return ollamaError(e);
    case 'anthropic': return anthropicError(e);
    case 'llama': return llamaError(e);
  }
}
