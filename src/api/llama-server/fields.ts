// How the llama-server endpoints treat the fields of a request body. llama-server reads the fields it knows and
// ignores the rest (clients such as SillyTavern and llama.vscode send fields for other backends in the same body),
// so these endpoints never reject an unread field, even on a strict server: every reader of a llama-server body ends
// with endFields, which lists them as ignored (the hearth-ignored-fields header).

import { Fields } from '../validate.ts';

/** The request body as Fields (a body that is not a JSON object is a 400). */
export function llamaFields(body: unknown): Fields {
  return new Fields(body);
}

/** The end of reading a llama-server body: fields nobody read are ignored, as llama-server ignores them, and listed. */
export function endFields(f: Fields): void {
  f.ignoreUnknown();
}

/** The optional `model` field: which of the served models answers (the only one when absent). */
export function readModel(f: Fields): string | undefined {
  return f.string('model', { nonEmpty: true });
}
