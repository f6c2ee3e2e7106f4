// Structured output as each dialect asks for it, turned into the one thing the engine takes: a GBNF grammar the
// sampler constrains generation with (SamplingOptions.grammar). OpenAI's response_format (json_object,
// json_schema), Ollama's format ("json" or a schema), and llama-server's own `grammar` and `json_schema` fields.
// Every grammar is parsed here, on the serving thread, so that a bad one is a 400 before anything is queued.

import { HearthError } from '../util/errors.ts';
import { JSON_OBJECT_GBNF, jsonSchemaToGbnf, parseGbnf } from '../engine/sampler/index.ts';
import { describe, FieldError, type Fields } from './validate.ts';
import type { NativeFormat } from './native.ts';

/** The grammar text, checked: a grammar that does not parse is a 400 about `field`, with the parser's line and column. */
export function checkedGrammar(text: string, field: string): string {
  try {
    parseGbnf(text);
  } catch (e) {
    if (e instanceof HearthError) throw new FieldError(field, `${field}: ${e.message}`, e.code === 'internal' ? 'invalid_argument' : e.code);
    // the parser recurses once per nested group: a grammar nested thousands deep runs out of stack
    if (e instanceof RangeError) throw new FieldError(field, `${field}: the grammar nests too deep to parse`);
    throw e;
  }
  return text;
}

/** Deepest JSON schema compiled (real ones nest a few levels; the compiler recurses once per level). */
export const MAX_SCHEMA_DEPTH = 64;

/** How deep objects and arrays nest in `v`, counted without recursion, up to `limit` + 1. */
function nesting(v: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    deepest = Math.max(deepest, d + 1);
    if (deepest > limit) return deepest;
    for (const y of Array.isArray(x) ? x : Object.values(x)) stack.push([y, d + 1]);
  }
  return deepest;
}

/** The grammar of a JSON schema; a keyword the compiler cannot honour is a 400 naming it (never ignored). */
export function schemaGrammar(schema: unknown, field: string): string {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    if (schema !== true) throw new FieldError(field, `${field} must be a JSON schema (an object)`);
  }
  if (nesting(schema, MAX_SCHEMA_DEPTH) > MAX_SCHEMA_DEPTH) {
    throw new FieldError(field, `${field}: the schema nests deeper than ${MAX_SCHEMA_DEPTH} levels`);
  }
  let gbnf: string;
  try {
    gbnf = jsonSchemaToGbnf(schema);
  } catch (e) {
    if (e instanceof HearthError) throw new FieldError(field, `${field}: ${e.message}`, e.code);
    throw e;
  }
  return checkedGrammar(gbnf, field);
}

/** Any JSON object: OpenAI's json_object, Ollama's format "json". */
export const jsonObjectGrammar = (): string => JSON_OBJECT_GBNF;

/**
 * llama-server's own fields, which its clients send to the OpenAI-compatible routes too: `grammar` (GBNF text) and
 * `json_schema` (a schema). At most one grammar per request.
 */
export function readLlamaGrammar(f: Fields): string | undefined {
  // An empty grammar is none (SillyTavern sends grammar: "" next to a json_schema).
  const text = f.string('grammar');
  const grammar = text?.trim() === '' ? undefined : text;
  const schema = f.raw('json_schema');
  if (grammar !== undefined && schema !== undefined) throw new FieldError('grammar', 'send grammar or json_schema, not both');
  if (grammar !== undefined) return checkedGrammar(grammar, 'grammar');
  if (schema !== undefined) return schemaGrammar(schema, 'json_schema');
  return undefined;
}

/** OpenAI's response_format: text (no grammar), json_object, or json_schema {name, schema, strict}. */
export function readResponseFormat(f: Fields): string | undefined {
  const rf = f.object('response_format');
  if (!rf) return undefined;
  const type = rf.oneOf('type', ['text', 'json_object', 'json_schema']);
  if (type === undefined || type === 'text') {
    rf.rejectUnknown();
    return undefined;
  }
  if (type === 'json_object') {
    rf.rejectUnknown();
    return jsonObjectGrammar();
  }
  const js = rf.object('json_schema');
  if (!js) throw new FieldError('response_format.json_schema', 'response_format of type json_schema needs json_schema: {name, schema}');
  const name = js.string('name');
  if (!name) throw new FieldError('response_format.json_schema.name', 'response_format.json_schema needs a name (a-z, A-Z, 0-9, _ and -, as OpenAI requires)');
  js.string('description');
  // strict: the output must match the schema. Constrained sampling makes every schema strict here, so either value
  // gives a valid object; false does not loosen the grammar.
  js.boolean('strict');
  const schema = js.raw('schema') ?? {};
  const grammar = schemaGrammar(schema, 'response_format.json_schema.schema');
  js.rejectUnknown();
  rf.rejectUnknown();
  return grammar;
}

/** Ollama's format: "json" (any JSON object) or a JSON schema; "" is none. */
export function readOllamaFormat(f: Fields): string | undefined {
  const format = f.raw('format');
  if (format === undefined || format === null || format === '') return undefined;
  if (format === 'json') return jsonObjectGrammar();
  if (typeof format === 'object' && !Array.isArray(format)) return schemaGrammar(format, 'format');
  throw new FieldError('format', `format must be "json" or a JSON schema; got ${describe(format)}`);
}

/** OpenAI's response_format as the client sent it (read after readResponseFormat checked it). */
export function responseFormatSource(f: Fields): NativeFormat | undefined {
  const rf = f.raw('response_format') as { type?: string; json_schema?: { name?: string; schema?: unknown } } | undefined;
  if (rf?.type === 'json_object') return { type: 'json_object' };
  if (rf?.type === 'json_schema') return { type: 'json_schema', schema: rf.json_schema?.schema ?? {}, name: rf.json_schema?.name };
  return undefined;
}

/** Ollama's format as the client sent it (read after readOllamaFormat checked it). */
export function ollamaFormatSource(f: Fields): NativeFormat | undefined {
  const format = f.raw('format');
  if (format === 'json') return { type: 'json_object' };
  if (typeof format === 'object' && format !== null) return { type: 'json_schema', schema: format };
  return undefined;
}
