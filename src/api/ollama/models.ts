// Ollama's /api/embed (+ the older /api/embeddings), and the details and parameter sizes its model lists show.

import { Fields, FieldError, unsupported } from '../validate.ts';
import { readKeepAlive, readOllamaOptions } from './options.ts';
import { ns } from './generate.ts';

export interface OllamaDetails {
  parent_model: string;
  format: 'gguf';
  family: string;
  families: string[];
  parameter_size: string;
  quantization_level: string;
}

/** "260.0K", "1.5B": as Ollama prints parameter counts. */
export function parameterSize(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  return `${(n / 1e3).toFixed(1)}K`;
}

export interface OllamaEmbedRequest {
  model: string;
  inputs: string[];
  /** Cut inputs longer than the context instead of failing (Ollama's default: true). */
  truncate: boolean;
  dimensions?: number;
  /** The older /api/embeddings shape (one `prompt`, answered as `embedding`). */
  legacy: boolean;
  /** keep_alive in ms (see readKeepAlive). */
  keepAliveMs?: number;
}

export function embedRequestFromOllama(body: unknown, legacy = false): OllamaEmbedRequest {
  const f = new Fields(body);
  const model = f.required('model', (x, k) => x.string(k, { nonEmpty: true }));
  const keepAliveMs = readKeepAlive(f);
  readOllamaOptions(f.object('options'));
  let inputs: string[];
  if (legacy) inputs = [f.required('prompt', (x, k) => x.string(k))];
  else {
    inputs = f.required('input', (x, k) => x.stringList(k));
    if (inputs.length === 0) throw new FieldError('input', 'input must not be empty');
  }
  inputs.forEach((s, i) => {
    if (s === '' && !legacy) throw new FieldError(inputs.length > 1 ? `input[${i}]` : 'input', 'an empty string has no embedding');
  });
  const req: OllamaEmbedRequest = {
    model,
    inputs,
    truncate: legacy ? true : (f.boolean('truncate') ?? true),
    dimensions: legacy ? undefined : f.number('dimensions', { integer: true, min: 1 }),
    legacy,
    keepAliveMs,
  };
  f.rejectUnknown();
  return req;
}

export function embedResponse(model: string, vectors: readonly Float32Array[], promptTokens: number, totalMs: number) {
  return {
    model,
    embeddings: vectors.map((v) => Array.from(v)),
    total_duration: ns(totalMs),
    load_duration: 0,
    prompt_eval_count: promptTokens,
  };
}
