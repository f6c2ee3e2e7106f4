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
  context_length_exceeded: 'The prompt (plus generation) does not fit in the context window.',
  aborted: 'The operation was cancelled.',
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
