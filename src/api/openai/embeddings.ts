// OpenAI POST /v1/embeddings.

import type { PromptInput } from '../native.ts';
import { Fields, unsupported } from '../validate.ts';
import { promptsFromOpenAI } from './completions.ts';

export interface EmbeddingsRequest {
  model: string;
  inputs: PromptInput[];
  encoding: 'float' | 'base64';
  dimensions?: number;
}

export function embeddingsRequestFromOpenAI(body: unknown): EmbeddingsRequest {
  const f = new Fields(body);
  const model = f.required('model', (x, k) => x.string(k, { nonEmpty: true }));
  const inputs = promptsFromOpenAI(f.required('input', (x, k) => x.raw(k)), 'input');
  inputs.forEach((p, i) => {
    if (p.kind === 'text' && p.text === '') throw unsupported(inputs.length > 1 ? `input[${i}]` : 'input', 'an empty string has no embedding');
  });
  const req: EmbeddingsRequest = {
    model,
    inputs,
    encoding: f.oneOf('encoding_format', ['float', 'base64']) ?? 'float',
    dimensions: f.number('dimensions', { integer: true, min: 1 }),
  };
  f.string('user');
  f.rejectUnknown();
  return req;
}

/** Little-endian float32 bytes, base64: what the OpenAI SDKs ask for by default. */
export function base64Floats(v: Float32Array): string {
  const le = new Float32Array(v);
  return Buffer.from(le.buffer, le.byteOffset, le.byteLength).toString('base64');
}

export interface EmbeddingsResponse {
  object: 'list';
  data: { object: 'embedding'; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

export function embeddingsResponse(vectors: readonly Float32Array[], promptTokens: number, model: string,
  encoding: 'float' | 'base64'): EmbeddingsResponse {
  return {
    object: 'list',
    data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: encoding === 'base64' ? base64Floats(v) : Array.from(v) })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

