// OpenAI POST /v1/completions (legacy text completions): prompt strings or token ids in, text out.

import type { ChoiceResult, NativeEvent, NativeRequest, PromptInput, TokenInfo } from '../native.ts';
import { Fields, FieldError, checkNumber, unsupported } from '../validate.ts';
import { readLlamaSamplerFields } from '../llama-sampler-fields.ts';
import {
  finishReason, markIgnored, readLlamaServerFields, readN, sentLimit, readSampling, readStop, readStreamOptions, usageOf, type ResponseMeta, type Usage,
} from './common.ts';

/** OpenAI's default when max_tokens is absent. */
export const DEFAULT_COMPLETION_TOKENS = 16;

function isTokenList(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number');
}

/** string | string[] | number[] | number[][] -> one PromptInput per prompt. */
export function promptsFromOpenAI(v: unknown, name = 'prompt'): PromptInput[] {
  const tokens = (list: unknown[], at: string): PromptInput => {
    list.forEach((x, i) => checkNumber(x, `${at}[${i}]`, { integer: true, min: 0 }));
    return { kind: 'tokens', tokens: list as number[] };
  };
  if (typeof v === 'string') return [{ kind: 'text', text: v }];
  if (!Array.isArray(v) || v.length === 0) {
    throw new FieldError(name, `${name} must be a string, an array of strings, or token ids (an array of integers, or of arrays)`);
  }
  if (isTokenList(v)) return [tokens(v, name)];
  return v.map((item, i) => {
    if (typeof item === 'string') return { kind: 'text', text: item };
    if (Array.isArray(item) && item.length > 0) return tokens(item, `${name}[${i}]`);
    throw new FieldError(`${name}[${i}]`, `${name}[${i}] must be a string or a non-empty array of token ids`);
  });
}

/** With `suffix`, a text prompt is the code before the cursor and the model fills in the middle (its FIM tokens). */
function infillPrompt(p: PromptInput, suffix: string, i: number): PromptInput {
  if (p.kind !== 'text') throw unsupported('suffix', `suffix needs text prompts (prompt${i ? `[${i}]` : ''} is token ids)`);
  return { kind: 'infill', prefix: p.text, suffix };
}

export function completionRequestFromOpenAI(body: unknown): NativeRequest & { includeUsage: boolean } {
  const f = new Fields(body);
  const model = f.required('model', (x, k) => x.string(k, { nonEmpty: true }));
  const prompts = promptsFromOpenAI(f.required('prompt', (x, k) => x.raw(k)));
  const stream = f.boolean('stream') ?? false;
  const { includeUsage } = readStreamOptions(f, stream);
  const n = readN(f);
  const bestOf = f.number('best_of', { integer: true, min: 1, max: 16 });
  if (bestOf !== undefined && bestOf !== n) throw unsupported('best_of', 'ranking several candidates is not implemented; best_of must equal n');
  const logprobs = f.number('logprobs', { integer: true, min: 0, max: 20 });
  const echo = f.boolean('echo') ?? false;
  if (echo && logprobs !== undefined) throw unsupported('echo', 'echo together with logprobs needs prompt log-probabilities, which are not computed');
  const suffix = f.string('suffix');
  markIgnored(f);
  const maxTokens = f.number('max_tokens', { integer: true, min: 0 });
  const { nPredict, nProbs } = readLlamaServerFields(f);
  const limit = sentLimit([['max_tokens', maxTokens], ['n_predict', nPredict]]);
  const req: NativeRequest & { includeUsage: boolean } = {
    model,
    prompts: suffix ? prompts.map((p, i) => infillPrompt(p, suffix, i)) : prompts,
    n,
    maxTokens: limit.maxTokens ?? DEFAULT_COMPLETION_TOKENS,
    ...(limit.maxTokensParam ? { maxTokensParam: limit.maxTokensParam } : {}),
    sampling: { ...readSampling(f), ...readLlamaSamplerFields(f) },
    stop: readStop(f),
    logprobs: logprobs ?? nProbs,
    echo,
    stream,
    includeUsage,
  };
  f.rejectUnknown();
  return req;
}

export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[];
  text_offset: number[];
}

export function completionLogprobs(tokens: readonly TokenInfo[], offset0 = 0): CompletionLogprobs {
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  let offset = offset0;
  for (const t of tokens) {
    out.tokens.push(t.piece);
    out.token_logprobs.push(t.logprob ?? 0);
    out.top_logprobs.push(Object.fromEntries((t.top ?? []).map((a) => [a.piece, a.logprob])));
    out.text_offset.push(offset);
    offset += t.piece.length;
  }
  return out;
}

export interface Completion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  system_fingerprint: string;
  choices: { text: string; index: number; logprobs: CompletionLogprobs | null; finish_reason: 'stop' | 'length' | null }[];
  usage?: Usage | null;
}

export function completion(results: readonly ChoiceResult[], meta: ResponseMeta): Completion {
  return {
    id: meta.id,
    object: 'text_completion',
    created: meta.created,
    model: meta.model,
    system_fingerprint: meta.systemFingerprint,
    choices: results.map((r) => ({
      text: r.text,
      index: r.index,
      logprobs: r.logprobs ? completionLogprobs(r.logprobs) : null,
      finish_reason: finishReason(r),
    })),
    usage: usageOf(results),
  };
}

export class CompletionStreamEncoder {
  private readonly meta: ResponseMeta;
  private readonly includeUsage: boolean;
  private readonly logprobs: boolean;
  private readonly offsets = new Map<number, number>();

  constructor(meta: ResponseMeta, opts: { includeUsage: boolean; logprobs: boolean }) {
    this.meta = meta;
    this.includeUsage = opts.includeUsage;
    this.logprobs = opts.logprobs;
  }

  private chunk(choices: Completion['choices'], usage?: Usage): Completion {
    const c: Completion = {
      id: this.meta.id, object: 'text_completion', created: this.meta.created, model: this.meta.model,
      system_fingerprint: this.meta.systemFingerprint, choices,
    };
    if (this.includeUsage) c.usage = usage ?? null;
    return c;
  }

  event(ev: NativeEvent): Completion[] {
    if (ev.type === 'reasoning' || ev.type === 'tool_call' || ev.type === 'tool_call_delta') return [];
    if (ev.type === 'done') {
      return [this.chunk([{ text: '', index: ev.index, logprobs: null, finish_reason: finishReason(ev.result) }])];
    }
    const scored = this.logprobs ? ev.tokens.filter((t) => t.logprob !== undefined) : [];
    if (ev.text === '' && scored.length === 0) return [];
    const offset = this.offsets.get(ev.index) ?? 0;
    this.offsets.set(ev.index, offset + ev.text.length);
    return [this.chunk([{
      text: ev.text, index: ev.index, logprobs: scored.length ? completionLogprobs(scored, offset) : null, finish_reason: null,
    }])];
  }

  end(results: readonly ChoiceResult[]): Completion[] {
    return this.includeUsage ? [this.chunk([], usageOf(results))] : [];
  }
}
