// llama-server's native POST /completion (and /completions) and POST /infill: the request fields as its README
// documents them -> NativeRequest, and results/events -> its response objects (non-OpenAI shapes: `content`,
// `stop`, `stop_type`, `timings` …). Streams are `data: {json}` lines, each with `content` and `stop: false`, the
// last with `stop: true` and the summary fields.

import type { ChoiceResult, NativeEvent, NativeRequest, PromptInput, TokenInfo } from '../native.ts';
import type { Tokenizer } from '../../tokenizer/types.ts';
import { FieldError, unsupported, type Fields } from '../validate.ts';
import { endFields } from './fields.ts';
import { generationSettings, readLlamaSampling } from './sampling.ts';

/** A /completion or /infill request, with what its answer needs besides the native request. */
export interface LlamaCompletionRequest {
  native: NativeRequest;
  /** `prompt` was a list of prompts: the answer is a list of results. */
  list: boolean;
  returnTokens: boolean;
  nProbs: number;
  postSamplingProbs: boolean;
  /** n_keep as sent (reported back; there is no context shift for it to steer). */
  nKeep: number;
  /** id_slot (or the older slot_id) as sent; -1 = any. */
  idSlot: number;
  /** response_fields: the final result has only these paths ("timings/prompt_n" lifted to the top under that name). */
  responseFields?: string[];
}

const isTokenId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Text tokens as llama-server tokenizes a prompt: special-token text parsed, BOS only at the start of a prompt. */
function textTokens(vocab: Tokenizer, text: string, first: boolean): number[] {
  const bos = vocab.bosId >= 0 ? vocab.tokenToPiece(vocab.bosId) : '';
  const addBos = first && vocab.addBos && !(bos && text.startsWith(bos));
  return vocab.encode(text, { parseSpecial: true, addBos });
}

/** One prompt: a string, token ids, ids and strings mixed, or `{prompt_string}` (no multimodal data here). */
function onePrompt(v: unknown, at: string, vocab: Tokenizer | undefined): PromptInput {
  if (typeof v === 'string') return vocab ? { kind: 'tokens', tokens: textTokens(vocab, v, true) } : { kind: 'text', text: v };
  if (Array.isArray(v) && v.length > 0 && v.every((x) => isTokenId(x) || typeof x === 'string')) {
    if (v.every(isTokenId)) return { kind: 'tokens', tokens: v };
    if (!vocab) throw new FieldError(at, `${at}: mixing token ids and text needs the model's vocabulary, which this model does not expose`);
    return { kind: 'tokens', tokens: v.flatMap((x, i) => (typeof x === 'number' ? [x] : textTokens(vocab, x, i === 0))) };
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.multimodal_data) && o.multimodal_data.length > 0) throw unsupported(`${at}.multimodal_data`, 'the model reads no images or audio');
    if (typeof o.prompt_string !== 'string') throw new FieldError(`${at}.prompt_string`, `${at}.prompt_string must be a string`);
    return onePrompt(o.prompt_string, at, vocab);
  }
  throw new FieldError(at, `${at} must be a string, token ids, a list mixing token ids and strings, or {"prompt_string": …}`);
}

/** `prompt` in every shape llama-server accepts; `list` when it is several prompts. */
export function readLlamaPrompt(v: unknown, vocab: Tokenizer | undefined): { prompts: PromptInput[]; list: boolean } {
  if (Array.isArray(v) && v.length > 0 && v.some((x) => Array.isArray(x) || (x !== null && typeof x === 'object') || typeof x === 'string')
    && !v.some(isTokenId)) {
    return { prompts: v.map((p, i) => onePrompt(p, `prompt[${i}]`, vocab)), list: true };
  }
  return { prompts: [onePrompt(v, 'prompt', vocab)], list: false };
}

/** Every field of /completion but the prompt. */
function readOptions(f: Fields, prompts: PromptInput[], list: boolean, vocab: Tokenizer | undefined): LlamaCompletionRequest {
  const nPredict = f.number('n_predict', { integer: true, min: -1 }) ?? f.number('max_tokens', { integer: true, min: -1 });
  const nProbs = f.number('n_probs', { integer: true, min: 0, max: 100 }) ?? 0;
  f.boolean('cache_prompt');
  const idSlot = f.number('id_slot', { integer: true, min: -1 }) ?? f.number('slot_id', { integer: true, min: -1 }) ?? -1;
  const req: LlamaCompletionRequest = {
    native: {
      model: '',
      prompts,
      n: f.number('n_cmpl', { integer: true, min: 1, max: 16 }) ?? 1,
      maxTokens: nPredict === undefined || nPredict < 0 ? undefined : nPredict,
      sampling: readLlamaSampling(f, vocab),
      stop: (f.stringList('stop') ?? []).filter((s) => s.length > 0),
      logprobs: nProbs > 0 ? nProbs : undefined,
      stream: f.boolean('stream') ?? false,
    },
    list,
    returnTokens: f.boolean('return_tokens') ?? false,
    nProbs,
    postSamplingProbs: f.boolean('post_sampling_probs') ?? false,
    nKeep: f.number('n_keep', { integer: true, min: -1 }) ?? 0,
    idSlot,
  };
  const fields = f.stringList('response_fields');
  if (fields?.length) req.responseFields = fields;
  endFields(f);
  return req;
}

/** POST /completion. `vocab`: the model's, to tokenize text prompts as llama-server does (special tokens parsed). */
export function completionRequestFromLlama(f: Fields, vocab: Tokenizer | undefined): LlamaCompletionRequest {
  const { prompts, list } = readLlamaPrompt(f.required('prompt', (x, k) => x.raw(k)), vocab);
  return readOptions(f, prompts, list, vocab);
}

/** POST /infill: input_prefix and input_suffix (required), input_extra [{filename, text}], prompt (after the prefix). */
export function infillRequestFromLlama(f: Fields, vocab: Tokenizer | undefined): LlamaCompletionRequest {
  const prefix = f.required('input_prefix', (x, k) => x.string(k));
  const suffix = f.required('input_suffix', (x, k) => x.string(k));
  const extra = f.children(f.array('input_extra') ?? [], 'input_extra').map((c) => {
    const text = c.required('text', (x, k) => x.string(k));
    const filename = c.string('filename');
    return filename === undefined ? { text } : { filename, text };
  });
  const prompt = f.string('prompt');
  const input: PromptInput = { kind: 'infill', prefix, suffix, ...(extra.length ? { extra } : {}), ...(prompt ? { prompt } : {}) };
  return readOptions(f, [input], false, vocab);
}

/** What the answer says about the model. */
export interface LlamaMeta {
  model: string;
  vocab: Tokenizer | undefined;
}

export interface LlamaTimings {
  cache_n: number;
  prompt_n: number;
  prompt_ms: number;
  prompt_per_token_ms: number;
  prompt_per_second: number;
  predicted_n: number;
  predicted_ms: number;
  predicted_per_token_ms: number;
  predicted_per_second: number;
}

const per = (ms: number, n: number) => ({ perToken: n > 0 ? ms / n : 0, perSecond: ms > 0 ? (1000 * n) / ms : 0 });

export function llamaTimings(r: ChoiceResult): LlamaTimings {
  const promptN = r.usage.promptTokens - r.usage.cachedTokens;
  const p = per(r.timings.promptMs, promptN);
  const g = per(r.timings.generateMs, r.usage.completionTokens);
  return {
    cache_n: r.usage.cachedTokens,
    prompt_n: promptN,
    prompt_ms: r.timings.promptMs,
    prompt_per_token_ms: p.perToken,
    prompt_per_second: p.perSecond,
    predicted_n: r.usage.completionTokens,
    predicted_ms: r.timings.generateMs,
    predicted_per_token_ms: g.perToken,
    predicted_per_second: g.perSecond,
  };
}

/** none while generating; eos (end of generation), limit (n_predict or the context) or word (a stop string). */
export function stopType(r: ChoiceResult): 'eos' | 'limit' | 'word' {
  if (r.stopSequence !== null) return 'word';
  return r.reason === 'length' ? 'limit' : 'eos';
}

function tokenBytes(t: { id: number; piece: string }, vocab: Tokenizer | undefined): number[] {
  return [...(vocab ? vocab.tokenBytes(t.id) : new TextEncoder().encode(t.piece))];
}

/**
 * completion_probabilities: per generated token its id, text, bytes and log-probability with the top n_probs
 * alternatives (`prob` / `top_probs` instead with post_sampling_probs; the probabilities are the model's softmax
 * either way).
 */
export function completionProbabilities(tokens: readonly TokenInfo[], post: boolean, vocab: Tokenizer | undefined): Record<string, unknown>[] {
  const value = (lp: number) => (post ? { prob: Math.exp(lp) } : { logprob: lp });
  return tokens.filter((t) => t.logprob !== undefined).map((t) => ({
    id: t.id,
    token: t.piece,
    bytes: tokenBytes(t, vocab),
    ...value(t.logprob!),
    [post ? 'top_probs' : 'top_logprobs']: (t.top ?? []).map((a) => ({ id: a.id, token: a.piece, bytes: tokenBytes(a, vocab), ...value(a.logprob) })),
  }));
}

function truncated(r: ChoiceResult, maxTokens: number | undefined): boolean {
  return r.reason === 'length' && (maxTokens === undefined || r.usage.completionTokens < maxTokens);
}

/** One finished choice as llama-server's final result; in a stream, content and tokens have gone out already. */
export function completionResult(r: ChoiceResult, req: LlamaCompletionRequest, meta: LlamaMeta, streamed = false): Record<string, unknown> {
  const n = req.native;
  const out: Record<string, unknown> = {
    index: r.index,
    content: streamed ? '' : r.text,
    tokens: streamed || !req.returnTokens ? [] : r.tokens,
    id_slot: req.idSlot,
    stop: true,
    model: meta.model,
    tokens_predicted: r.usage.completionTokens,
    tokens_evaluated: r.usage.promptTokens,
    generation_settings: generationSettings(n.sampling, {
      nPredict: n.maxTokens, stop: n.stop, stream: n.stream, nProbs: req.nProbs, nKeep: req.nKeep, postSamplingProbs: req.postSamplingProbs,
    }),
    prompt: meta.vocab ? meta.vocab.decode(r.promptTokens, { skipSpecial: false }) : '',
    has_new_line: r.text.includes('\n'),
    truncated: truncated(r, n.maxTokens),
    stop_type: stopType(r),
    stopping_word: r.stopSequence ?? '',
    tokens_cached: r.usage.cachedTokens,
    timings: llamaTimings(r),
  };
  if (!streamed && req.nProbs > 0 && r.logprobs) out.completion_probabilities = completionProbabilities(r.logprobs, req.postSamplingProbs, meta.vocab);
  return req.responseFields ? pickFields(out, req.responseFields) : out;
}

/** llama-server's response_fields: each path that exists, under its whole path as the key ("a/b" reads out.a.b). */
export function pickFields(out: Record<string, unknown>, paths: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const path of paths) {
    let v: unknown = out;
    let found = true;
    for (const k of path.split('/')) {
      if (found && v !== null && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, k)) v = (v as Record<string, unknown>)[k];
      else found = false;
    }
    if (found) picked[path] = v;
  }
  return picked;
}

/** The answer to a request that did not stream: one result, or a list when the prompt was a list (or n_cmpl > 1). */
export function completionResponse(results: readonly ChoiceResult[], req: LlamaCompletionRequest, meta: LlamaMeta): unknown {
  const all = results.map((r) => completionResult(r, req, meta));
  return req.list || all.length > 1 ? all : all[0];
}

/** Stream objects: one per piece of text (with its token ids), then the final result of each choice. */
export class LlamaStreamEncoder {
  private readonly req: LlamaCompletionRequest;
  private readonly meta: LlamaMeta;
  private readonly predicted = new Map<number, number>();
  private promptTokens: readonly number[] = [];

  constructor(req: LlamaCompletionRequest, meta: LlamaMeta) {
    this.req = req;
    this.meta = meta;
  }

  /** The prompt lengths, once the generation is queued (each chunk reports tokens_evaluated). */
  start(promptTokens: readonly number[]): void {
    this.promptTokens = promptTokens;
  }

  event(ev: NativeEvent): Record<string, unknown>[] {
    if (ev.type === 'done') return [completionResult(ev.result, this.req, this.meta, true)];
    // Reasoning and tool calls come only from chat prompts, which these endpoints do not send.
    if (ev.type !== 'delta') return [];
    if (ev.text === '' && ev.tokens.length === 0) return [];
    const n = (this.predicted.get(ev.index) ?? 0) + ev.tokens.length;
    this.predicted.set(ev.index, n);
    const chunk: Record<string, unknown> = {
      index: ev.index,
      content: ev.text,
      tokens: ev.tokens.map((t) => t.id),
      stop: false,
      id_slot: this.req.idSlot,
      tokens_predicted: n,
      tokens_evaluated: this.promptTokens[Math.floor(ev.index / this.req.native.n)] ?? 0,
    };
    if (this.req.nProbs > 0) {
      const probs = completionProbabilities(ev.tokens, this.req.postSamplingProbs, this.meta.vocab);
      if (probs.length) chunk.completion_probabilities = probs;
    }
    return [chunk];
  }
}
