// One request's generation state inside a scheduler slot (sampler, stream decoder, stop matcher, counters): the
// prompt checks, sampling, end-of-generation, stop strings and events of the one generation loop. A scheduler
// step advances many of them at once.

import { HearthError } from '../util/errors.ts';
import type { Context } from './context.ts';
import { createSampler, GrammarSampler, grammarVocab, LazyGrammar, parseGbnf, tokenLogprobs } from './sampler/index.ts';
import type { SamplerChain } from './sampler/index.ts';
import { StopMatcher } from './stop.ts';
import type { FinishReason, GenerateEvent, GenerateRequest } from './types.ts';
import type { LoadedModel } from './load.ts';
import type { StreamDecoder } from '../tokenizer/types.ts';

/** Images need the model's vision encoder, in prompt order, each whole inside the prompt, of the encoder's size. */
function checkImages(model: LoadedModel, spec: JobSpec): void {
  const images = spec.images ?? [];
  if (images.length === 0) return;
  const vision = model.vision;
  if (!vision) throw new HearthError('invalid_argument', `the model ${model.path} has no vision encoder (load it with an mmproj) and cannot read images`);
  const n = vision.nTokens;
  const size = vision.hp.imageSize;
  let end = 0;
  for (const img of images) {
    if (!Number.isInteger(img.pos) || img.pos < end || img.pos + n > spec.prompt.length) {
      throw new HearthError('invalid_argument', `an image at position ${img.pos} (${n} rows) does not fit the prompt of ${spec.prompt.length} after ${end}`);
    }
    if (img.pixels.length !== 3 * size * size) {
      throw new HearthError('invalid_argument', `an image has ${img.pixels.length} values; the encoder takes [3, ${size}, ${size}]`);
    }
    end = img.pos + n;
  }
}

/** A request as the scheduler queues it. */
export interface JobSpec extends GenerateRequest {
  signal?: AbortSignal;
}

/** What a job reports: its GenerateEvents, or, instead of 'done', the error that ended it. */
export type JobEvent = GenerateEvent | { type: 'error'; error: HearthError };

export class Sequence {
  readonly spec: JobSpec;
  readonly emit: (ev: JobEvent) => void;
  readonly window: number;
  readonly maxTokens: number;
  readonly sampler: SamplerChain;
  readonly submittedAt = performance.now();
  admittedAt = 0;
  prefillDoneAt = 0;
  ctx: Context | undefined;
  /** Prompt tokens not yet evaluated. */
  pending: number[] = [];
  /** The token to evaluate next while decoding. */
  last = -1;
  generated = 0;
  cachedTokens = 0;
  finished = false;
  private decoder: StreamDecoder | undefined;
  private stops: StopMatcher;
  /** The output's grammar, when the request constrains it (structured output; lazy: tool calls in auto mode). */
  private readonly grammar: GrammarSampler | LazyGrammar | undefined;
  private readonly stopAtEog: boolean;

  /** Checks the request against the model (throws before anything is queued). */
  constructor(model: LoadedModel, spec: JobSpec, emit: (ev: JobEvent) => void) {
    const window = Math.min(spec.nCtx ?? model.nCtx, model.nCtx);
    if (spec.prompt.length === 0) throw new HearthError('invalid_argument', 'the prompt is empty: it must have at least one token');
    if (spec.prompt.length >= window) {
      throw new HearthError('context_length_exceeded',
        `the prompt is ${spec.prompt.length} tokens; the context window holds ${window} tokens, with room needed for at least one generated token`);
    }
    for (const id of spec.prompt) {
      if (!Number.isInteger(id) || id < 0 || id >= model.hp.nVocab) {
        throw new HearthError('invalid_argument', `token id ${id} is outside the vocabulary (0..${model.hp.nVocab - 1})`);
      }
    }
    for (const [id] of spec.sampling?.logitBias ?? []) {
      if (id >= model.hp.nVocab) throw new HearthError('invalid_argument', `logit bias: token ${id} is outside the vocabulary (0..${model.hp.nVocab - 1})`);
    }
    checkImages(model, spec);
    const maxTokens = spec.maxTokens ?? Infinity;
    if (!(maxTokens >= 0)) throw new HearthError('invalid_argument', `maxTokens must be >= 0, got ${spec.maxTokens}`);
    this.spec = spec;
    this.emit = emit;
    this.window = window;
    this.maxTokens = maxTokens;
    this.sampler = createSampler(spec.sampling ?? {}, { tokenizer: model.tokenizer });
    // parsed again here (the serving thread checked it): the engine thread holds no state from the request's parse
    const grammar = spec.sampling?.grammar;
    if (grammar !== undefined) {
      const vocab = grammarVocab(model.tokenizer);
      const g = new GrammarSampler(parseGbnf(grammar), vocab);
      const triggers = spec.sampling?.grammarTriggers;
      this.grammar = triggers?.length ? new LazyGrammar(g, vocab, triggers) : g;
    }
    this.stops = new StopMatcher(spec.stop ?? []);
    this.stopAtEog = spec.stopAtEog ?? true;
  }

  /** Binds the sequence to a slot's context, keeping the cached prefix it shares with the prompt. */
  start(ctx: Context, keep0: number): void {
    // a kept prefix never ends inside an image: its rows go in one pass
    let keep = keep0;
    for (const img of this.spec.images ?? []) if (img.pos < keep && keep < img.pos + ctx.model.vision!.nTokens) keep = img.pos;
    this.ctx = ctx;
    this.admittedAt = performance.now();
    ctx.truncate(keep);
    this.cachedTokens = keep;
    this.pending = this.spec.prompt.slice(keep);
    for (const id of this.spec.prompt) this.sampler.accept(id);
    this.decoder = ctx.model.tokenizer.createStreamDecoder();
  }

  /**
   * The next prompt chunk of at most `budget` tokens: text up to the next image, or a whole image (its rows
   * encoded now; an image may exceed the budget, it is never split).
   */
  nextChunk(budget: number): { tokens: number[]; embeddings?: Float32Array } {
    const at = this.spec.prompt.length - this.pending.length;
    const vision = this.ctx!.model.vision;
    for (const img of this.spec.images ?? []) {
      const n = vision!.nTokens;
      if (img.pos === at) return { tokens: this.pending.slice(0, n), embeddings: vision!.encoder.encode(img.pixels) };
      if (img.pos > at) return { tokens: this.pending.slice(0, Math.min(budget, img.pos - at)) };
    }
    return { tokens: this.pending.slice(0, budget) };
  }

  get prefilling(): boolean {
    return this.pending.length > 0;
  }

  /**
   * Handles the logits after the sequence's last evaluated token: sample, emit, and decide whether to go on.
   * Returns true when the sequence is finished.
   */
  advance(logits: Float32Array): boolean {
    const ctx = this.ctx!;
    const tokenizer = ctx.model.tokenizer;
    if (this.prefillDoneAt === 0) this.prefillDoneAt = performance.now();
    if (this.generated >= this.maxTokens) return this.finish('length');
    // the grammar masks what it cannot accept next; end-of-generation stays open only where its match is complete
    this.grammar?.mask(logits);
    const id = this.sampler.sample(logits);
    this.sampler.accept(id);
    if (this.stopAtEog && tokenizer.isEog(id)) return this.finish('eog');
    if (this.grammar && !tokenizer.isEog(id)) this.grammar.accept(id);
    this.generated++;
    const { emit, stopped } = this.stops.push(this.decoder!.push(id));
    const logprob = this.spec.logprobs === undefined ? undefined : tokenLogprobs(logits, id, this.spec.logprobs);
    this.emit({ type: 'token', id, text: emit, logprob });
    if (stopped) return this.finish('stop');
    // a grammar that can take no more bytes ends the output, as the model's end-of-generation would
    if (this.grammar?.done) return this.finish('eog');
    // prompt + generated tokens never exceed the window
    if (this.generated >= this.maxTokens || ctx.nPast + 1 >= this.window) return this.finish('length');
    this.last = id;
    return false;
  }

  finish(reason: FinishReason): true {
    let why = reason;
    if (why !== 'stop' && this.decoder) {
      const tail = this.stops.push(this.decoder.flush());
      const rest = tail.stopped ? tail.emit : tail.emit + this.stops.flush();
      if (tail.stopped) why = 'stop';
      if (rest) this.emit({ type: 'text', text: rest });
    }
    this.finished = true;
    const now = performance.now();
    const prefillDone = this.prefillDoneAt || now;
    this.emit({
      type: 'done',
      reason: why,
      stopSequence: this.stops.matched,
      usage: { promptTokens: this.spec.prompt.length, completionTokens: this.generated, cachedTokens: this.cachedTokens },
      timings: {
        queueMs: this.admittedAt - this.submittedAt,
        promptMs: prefillDone - this.admittedAt,
        generateMs: now - prefillDone,
      },
    });
    return true;
  }

  fail(error: HearthError): void {
    if (this.finished) return;
    this.finished = true;
    this.emit({ type: 'error', error });
  }
}
