// One error class with stable codes. The server maps code -> HTTP status; the CLI prints the message.

export const ERROR_CODES = {
  invalid_argument: 'A caller passed a value that is out of range or of the wrong kind.',
  not_found: 'A named file, model or tensor does not exist.',
  io_error: 'Reading or writing a file failed.',
  gguf_invalid: 'A GGUF file is malformed: bad magic, truncated, inconsistent counts or offsets.',
  gguf_unsupported: 'A GGUF file uses a version or type this build does not support.',
  unsupported_type: 'A tensor type has no implementation for the requested operation.',
  unsupported_architecture: 'The model architecture is not implemented.',
  model_invalid: 'A model is missing a tensor or metadata key, or a tensor has the wrong shape.',
  tokenizer_invalid: 'A vocabulary or tokenizer file is malformed.',
  template_error: 'The chat template failed to render.',
  out_of_memory: 'A model, context or batch does not fit in the memory a backend can address.',
  insufficient_memory: 'A model needs more memory than the server\'s budget leaves (--max-memory, or what the system has): the message gives the bytes needed, the bytes available and what is loaded.',
  sandbox_unavailable: 'No working code sandbox here (bubblewrap missing, a namespace or seccomp refused, an unsupported platform): code is never run outside one; the message says what failed.',
  backend_unavailable: 'The requested compute backend cannot run here: an optional package or a GPU adapter is missing.',
  context_length_exceeded: 'The prompt (plus generation) does not fit in the context window.',
  aborted: 'The operation was cancelled.',
  unsupported_field: 'A request field names a feature this server does not implement (tools, JSON schema output, images).',
  queue_full: 'Every slot is busy and the wait queue is full; retry after the Retry-After interval.',
  timeout: 'A request ran past its time limit.',
  unavailable: 'The server cannot take requests yet (the model is still loading) or has failed to load it.',
  invalid_image: 'An image in a request is not one Hearth can read: not an image, truncated, an unsupported format or more pixels than the limit.',
  request_too_large: 'A request body is larger than the server accepts.',
  unsupported_media_type: 'A request body has a content type the endpoint does not accept.',
  unauthorized: 'A request carries no API key, or one that is malformed, unknown, revoked or expired.',
  forbidden: 'The API key is valid but lacks the scope for this endpoint or the model is outside its allow-list (or the browser origin is not allowed).',
  rate_limited: "A key's requests, tokens or concurrent requests are over its limit; retry after the Retry-After interval.",
  conflict: 'The name a model (or another resource) would be created under is already taken.',
  upstream_error: 'An upstream provider behind the gateway failed (connection refused or reset, a 5xx answer, its credentials refused) and no route of the model answered.',
  tool_error: 'An MCP server a request used failed: it could not start, crashed, did not answer within its call timeout, or sent more than its max_output; the message names the server and the tool.',
  not_implemented: 'The endpoint exists in a dialect this server speaks, but hearth does not do what it asks (publishing models).',
  database_too_new: 'The hearth database was written by a newer version (its schema version is higher than this build knows).',
  internal: 'A bug: an invariant did not hold.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class HearthError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HearthError';
    this.code = code;
  }
}

export function isHearthError(e: unknown, code?: ErrorCode): e is HearthError {
  return e instanceof HearthError && (code === undefined || e.code === code);
}
