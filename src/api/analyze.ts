// The image-analysis service's wire shapes (POST /api/v1/analyze, POST /api/v1/batch, GET /api/v1/batch/{id}):
// the request bodies read into native terms, one analysis as a chat prompt (the image, a line break, the prompt,
// as Ollama's images are placed), and the answers in snake case. Pure functions; the service is server/analysis.ts.

import { IMAGE_MARKER } from '../chat/media.ts';
import type { NativeFormat, NativeRequest } from './native.ts';
import { imageFromBase64, imageFromUrl } from './images.ts';
import { describe, FieldError, Fields } from './validate.ts';
import { ollamaFormatSource, readOllamaFormat } from './structured-output.ts';

export const DEFAULT_ANALYZE_PROMPT = 'Describe this image.';
/** Tokens an analysis may generate when the request does not say (max_tokens). */
export const DEFAULT_ANALYZE_MAX_TOKENS = 512;
/** Items of one batch, and items it runs at once when it does not say (concurrency). */
export const MAX_BATCH_ITEMS = 1000;
export const DEFAULT_BATCH_CONCURRENCY = 4;
export const MAX_BATCH_CONCURRENCY = 64;

/** How each analysis is generated: shared by the items of a batch. */
export interface AnalyzeOptions {
  maxTokens?: number;
  temperature?: number;
  /** The structured output asked for (`format`: "json" or a JSON schema) and its checked grammar. */
  format?: NativeFormat;
  grammar?: string;
}

export interface AnalyzeRequest extends AnalyzeOptions {
  image: Uint8Array;
  prompt?: string;
  model?: string;
}

/** `image`: bytes (a multipart file part), base64, or a data URL; http(s) URLs are not fetched here. */
function readImage(f: Fields, key: string): Uint8Array {
  const v = f.raw(key);
  const name = f.name(key);
  if (v instanceof Uint8Array) return v;
  if (typeof v !== 'string') throw new FieldError(name, `${name} is required: the image as base64 or a data URL (data:image/png;base64,...)${v === undefined ? '' : `; got ${describe(v)}`}`);
  if (/^https?:\/\//i.test(v)) throw new FieldError(name, `${name}: send the image itself (base64 or a data URL); the analysis service fetches no URLs`);
  const img = v.startsWith('data:') ? imageFromUrl(name, v) : imageFromBase64(name, v);
  return img.data!;
}

function readOptions(f: Fields): AnalyzeOptions {
  const o: AnalyzeOptions = {};
  const maxTokens = f.number('max_tokens', { min: 1, integer: true });
  if (maxTokens !== undefined) o.maxTokens = maxTokens;
  const temperature = f.number('temperature', { min: 0, max: 2 });
  if (temperature !== undefined) o.temperature = temperature;
  const grammar = readOllamaFormat(f);
  if (grammar !== undefined) {
    o.grammar = grammar;
    o.format = ollamaFormatSource(f);
  }
  return o;
}

/** POST /api/v1/analyze's body (JSON, or a multipart form read by analyzeFormBody). */
export function readAnalyzeRequest(body: unknown): AnalyzeRequest {
  const f = new Fields(body);
  const image = readImage(f, 'image');
  const prompt = f.string('prompt');
  const model = f.string('model', { nonEmpty: true });
  const out: AnalyzeRequest = { image, ...readOptions(f), ...(prompt !== undefined ? { prompt } : {}), ...(model !== undefined ? { model } : {}) };
  f.rejectUnknown();
  return out;
}

/**
 * A multipart form as the JSON body it stands for: the `image` part's bytes (a file part, or base64 text), the
 * text fields as they are, `max_tokens` and `temperature` as numbers, `format` as JSON unless it is "json".
 */
export async function analyzeFormBody(form: FormData): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of form.entries()) {
    if (key in out) throw new FieldError(key, `${key} is given twice in the form`);
    if (typeof value !== 'string') {
      out[key] = new Uint8Array(await value.arrayBuffer());
      continue;
    }
    if (key === 'max_tokens' || key === 'temperature') {
      const n = Number(value);
      out[key] = value.trim() === '' || Number.isNaN(n) ? value : n;
    } else if (key === 'format' && value.trim() !== 'json' && value.trim() !== '') {
      try {
        out[key] = JSON.parse(value) as unknown;
      } catch (e) {
        throw new FieldError('format', `format must be "json" or a JSON schema; the form's text is not JSON (${(e as Error).message})`);
      }
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** One analysis as a native chat request: a user message with the image and then the prompt. */
export function analyzeNative(model: string, image: Uint8Array, prompt: string, o: AnalyzeOptions): NativeRequest {
  return {
    model,
    prompts: [{ kind: 'chat', messages: [{ role: 'user', content: `${IMAGE_MARKER}\n${prompt}`, images: [{ data: image }] }] }],
    n: 1,
    maxTokens: o.maxTokens ?? DEFAULT_ANALYZE_MAX_TOKENS,
    sampling: { ...(o.temperature !== undefined ? { temperature: o.temperature } : {}), ...(o.grammar !== undefined ? { grammar: o.grammar } : {}) },
    stop: [],
    stream: false,
    ...(o.format ? { format: o.format } : {}),
  };
}

/** One finished analysis, in native terms. */
export interface Analysis {
  id: string;
  model: string;
  /** "local", or the upstream provider's name. */
  provider: string;
  text: string;
  /** The text parsed as JSON, when a format was asked for and the text is whole JSON. */
  structured?: unknown;
  image: { width: number; height: number; format: string };
  inputTokens: number;
  outputTokens: number;
  durationMs: number;
}

export function analysisJson(a: Analysis): Record<string, unknown> {
  return {
    id: a.id, model: a.model, provider: a.provider, analysis: a.text, ...(a.structured !== undefined ? { structured: a.structured } : {}),
    image: a.image, usage: { input_tokens: a.inputTokens, output_tokens: a.outputTokens }, duration_ms: Math.round(a.durationMs * 100) / 100,
  };
}

export interface BatchRequest extends AnalyzeOptions {
  items: { image: Uint8Array; prompt?: string }[];
  prompt?: string;
  model?: string;
  concurrency: number;
}

/** POST /api/v1/batch's body. */
export function readBatchRequest(body: unknown): BatchRequest {
  const f = new Fields(body);
  const list = f.array('items', { nonEmpty: true, max: MAX_BATCH_ITEMS });
  if (!list) throw new FieldError('items', `items is required: a list of {image, prompt?} (1 to ${MAX_BATCH_ITEMS})`);
  const items = f.children(list, 'items').map((it) => {
    const image = readImage(it, 'image');
    const prompt = it.string('prompt');
    it.rejectUnknown();
    return { image, ...(prompt !== undefined ? { prompt } : {}) };
  });
  const prompt = f.string('prompt');
  const model = f.string('model', { nonEmpty: true });
  const concurrency = f.number('concurrency', { min: 1, max: MAX_BATCH_CONCURRENCY, integer: true }) ?? DEFAULT_BATCH_CONCURRENCY;
  const out: BatchRequest = { items, concurrency, ...readOptions(f), ...(prompt !== undefined ? { prompt } : {}), ...(model !== undefined ? { model } : {}) };
  f.rejectUnknown();
  return out;
}

/** The options of a stored batch (what readOptions read), as kept in the store's JSON. */
export function storedOptions(o: AnalyzeOptions): Record<string, unknown> {
  return { ...(o.maxTokens !== undefined ? { max_tokens: o.maxTokens } : {}), ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
    ...(o.format !== undefined ? { format: o.format } : {}), ...(o.grammar !== undefined ? { grammar: o.grammar } : {}) };
}

export function optionsFromStored(s: Record<string, unknown>): AnalyzeOptions {
  return {
    ...(typeof s.max_tokens === 'number' ? { maxTokens: s.max_tokens } : {}), ...(typeof s.temperature === 'number' ? { temperature: s.temperature } : {}),
    ...(s.format !== undefined ? { format: s.format as NativeFormat } : {}), ...(typeof s.grammar === 'string' ? { grammar: s.grammar } : {}),
  };
}
