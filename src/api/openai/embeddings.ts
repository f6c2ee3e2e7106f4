// OpenAI POST /v1/embeddings and GET /v1/models.

import { capabilityNames, type ModelCard, type PromptInput } from '../native.ts';
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

export interface OpenAIModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  /** Beyond OpenAI's fields: what the model serves, in Ollama's words ("completion", "embedding", "rerank", …). */
  capabilities: string[];
}

export function openaiModel(card: ModelCard): OpenAIModel {
  return {
    id: card.id, object: 'model', created: Math.floor(card.loadedAt.getTime() / 1000), owned_by: 'hearth',
    capabilities: capabilityNames(card.capabilities),
  };
}

export function openaiModelList(cards: readonly ModelCard[]): { object: 'list'; data: OpenAIModel[] } {
  return { object: 'list', data: cards.map(openaiModel) };
}
