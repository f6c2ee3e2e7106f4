// Continuous batching over N slots. Each slot is a Context (one KV cache) over the shared model; a step runs
// every active sequence through ONE evalBatch (prompt chunks and single decode tokens together), then samples
// each. New requests join between steps; a cancelled or timed-out request leaves at the next step. Embeddings
// are jobs too: a step also runs the oldest embedding inputs that fit it as one batched pass (or one chunk of a
// long decoder input), each on its own scratch cache.
// While some sequence is decoding, the prompt (and embedding) chunk of a step is sized by time, from the
// measured cost per prompt token, so that a running stream's next token waits at most one chunk of about
// `chunkMs` behind a long prompt (llama.cpp bounds it by n_batch tokens instead). Steps run one per event-loop
// turn of the thread the scheduler lives on (the engine worker, in the server).

import { HearthError } from '../util/errors.ts';
import { Context, commonPrefix, evalBatch } from './context.ts';
import type { LoadedModel } from './load.ts';
import { Sequence, type JobEvent, type JobSpec } from './sequence.ts';
import { EmbeddingJob, runEmbeddingBatch, takeBatch } from './embed.ts';
import type { Pooling } from '../model/types.ts';

export type { JobEvent, JobSpec } from './sequence.ts';

export interface SchedulerOptions {
  /** Slots: sequences decoded together. */
  parallel: number;
  /** Requests that may wait for a slot; more are refused with queue_full. */
  queueLimit: number;
  /** Most prompt tokens evaluated in one step, over all sequences (default: the model's nBatch, 512). */
  prefillChunk?: number;
  /** A request still unfinished this long after it was submitted fails with `timeout`; 0 = no limit. */
  timeoutMs?: number;
  /**
   * While other sequences are decoding, a step's prompt chunk is sized to take about this many milliseconds
   * (default 500; at most prefillChunk tokens). Without anyone decoding, chunks are prefillChunk tokens.
   */
  chunkMs?: number;
}

export interface StepInfo {
  sequences: number;
  tokens: number;
  /** Prompt and embedding tokens among them. */
  promptTokens: number;
  ms: number;
}

/** The slots' KV caches: tokens held (a finished sequence's stay, for prefix reuse) and what they can hold. */
export interface KvCacheUse {
  tokens: number;
  capacity: number;
}

export interface SchedulerStats {
  slots: number;
  busy: number;
  queued: number;
}

interface Slot {
  readonly ctx: Context;
  seq: Sequence | undefined;
  /** Step number at which the slot last finished a sequence (least recently used wins ties). */
  freedAt: number;
}

interface Entry {
  seq: Sequence;
  deadline: number;
  cancelled: boolean;
}

interface EmbedEntry {
  job: EmbeddingJob;
  deadline: number;
  done: (result: Float32Array | HearthError) => void;
  finished: boolean;
}

/** Weight of the newest step in the running cost estimates. */
const COST_ALPHA = 0.3;
/** Prompt tokens of the first chunk next to decoding sequences, before any cost is measured. */
const FIRST_CHUNK = 16;

export function checkSchedulerOptions(o: SchedulerOptions): void {
  const int = (name: string, v: number | undefined, min: number) => {
    if (v !== undefined && (!Number.isInteger(v) || v < min)) {
      throw new HearthError('invalid_argument', `scheduler option ${name} must be an integer >= ${min}; got ${v}`);
    }
  };
  int('parallel', o.parallel, 1);
  int('queueLimit', o.queueLimit, 0);
  int('prefillChunk', o.prefillChunk, 1);
  if (o.chunkMs !== undefined && !(o.chunkMs > 0)) {
    throw new HearthError('invalid_argument', `scheduler option chunkMs must be > 0; got ${o.chunkMs}`);
  }
  if (o.timeoutMs !== undefined && !(o.timeoutMs >= 0)) {
    throw new HearthError('invalid_argument', `scheduler option timeoutMs must be >= 0; got ${o.timeoutMs}`);
  }
}

export class Scheduler {
  readonly model: LoadedModel;
  readonly options: Required<SchedulerOptions>;
  private readonly slots: Slot[];
  private readonly queue: Entry[] = [];
  private readonly active = new Map<Sequence, Entry>();
  private readonly embeds: EmbedEntry[] = [];
  /** Running estimates: milliseconds per prompt token in a step, and of a step of decode tokens alone. */
  private tokenMs = 0;
  private decodeMs = 0;
  private running = false;
  private steps = 0;
  private closed = false;
  /** Called after every step that ran the model (metrics). */
  onStep: ((info: StepInfo) => void) | undefined;
  /** Called after every turn of the loop, whether or not it ran the model (slots and queue may have changed). */
  onTurn: (() => void) | undefined;

  /** `contexts` are the slots' contexts when the caller owns them (one per slot); fresh ones otherwise. */
  constructor(model: LoadedModel, options: SchedulerOptions, contexts?: readonly Context[]) {
    checkSchedulerOptions(options);
    if (contexts && (contexts.length !== options.parallel || contexts.some((c) => c.model !== model))) {
      throw new HearthError('invalid_argument', `the scheduler needs ${options.parallel} contexts over its own model; got ${contexts.length}`);
    }
    this.model = model;
    this.options = {
      prefillChunk: model.options.nBatch ?? 512,
      timeoutMs: 0,
      chunkMs: 500,
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as SchedulerOptions,
    };
    this.slots = Array.from({ length: options.parallel }, (_, i) => ({ ctx: contexts?.[i] ?? new Context(model), seq: undefined, freedAt: -1 }));
  }

  get stats(): SchedulerStats {
    return { slots: this.slots.length, busy: this.active.size, queued: this.queue.length };
  }

  get kvCache(): KvCacheUse {
    let tokens = 0;
    let capacity = 0;
    for (const s of this.slots) {
      if (s.ctx.disposed) continue;
      tokens += s.ctx.nPast;
      capacity += s.ctx.nCtx;
    }
    return { tokens, capacity };
  }

  /** Embedding inputs queued or running. */
  get embeddings(): number {
    return this.embeds.length;
  }

  /** Prompt tokens the next step would evaluate next to decoding sequences (diagnostics and tests). */
  get chunkTokens(): number {
    const cap = this.options.prefillChunk;
    if (this.tokenMs <= 0) return Math.min(cap, FIRST_CHUNK);
    return Math.max(1, Math.min(cap, Math.floor(this.options.chunkMs / this.tokenMs)));
  }

  /**
   * Queues one embedding input (the model's pooling over its final hidden states, L2-normalised; with pooling
   * 'rank', a reranker's raw scores: see embed.ts); `done` gets the vector or the error. Embeddings do not take
   * a slot; they count against the queue limit while they wait. Inputs queued together run as one batched pass
   * where they fit a step.
   */
  submitEmbedding(tokens: readonly number[], done: (result: Float32Array | HearthError) => void, signal?: AbortSignal,
    pooling?: Pooling): void {
    if (this.closed) throw new HearthError('unavailable', 'the server is shutting down');
    this.admitEmbeddings(1);
    const job = new EmbeddingJob(this.model, tokens, pooling);
    const deadline = this.options.timeoutMs > 0 ? performance.now() + this.options.timeoutMs : Infinity;
    const entry: EmbedEntry = { job, deadline, done, finished: false };
    if (signal) {
      const onAbort = () => this.endEmbedding(entry, new HearthError('aborted', 'the request was cancelled'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
    }
    this.embeds.push(entry);
    this.kick();
  }

  /**
   * Throws unless `n` more embedding inputs can be queued now: invalid_argument when they never could (more than the
   * slots and the queue hold together), queue_full when they could later.
   */
  admitEmbeddings(n: number): void {
    const room = this.slots.length + this.options.queueLimit;
    if (n > room) {
      throw new HearthError('invalid_argument',
        `${n} inputs can never be queued at once: this model takes ${room} (${this.slots.length} slots and a queue of ${this.options.queueLimit}); send fewer per request`);
    }
    if (this.embeds.length + n > room) {
      throw new HearthError('queue_full',
        `the embedding queue is full: ${this.embeds.length} inputs are queued or running, ${n} more do not fit (it holds ${room})`);
    }
  }

  private endEmbedding(entry: EmbedEntry, result: Float32Array | HearthError): void {
    if (entry.finished) return;
    entry.finished = true;
    const i = this.embeds.indexOf(entry);
    if (i >= 0) this.embeds.splice(i, 1);
    entry.job.dispose();
    entry.done(result);
  }

  /** Tokens cached in each slot (tests and diagnostics). */
  slotTokens(): number[][] {
    return this.slots.map((s) => [...s.ctx.tokens]);
  }

  /**
   * Queues jobs together (all or none: a request with n choices is refused whole when the queue cannot take
   * it). Every check that can fail runs here, before anything is queued; afterwards each job reports through
   * onEvent and ends with exactly one 'done' or 'error'.
   */
  submit(specs: JobSpec[], onEvent: (index: number, ev: JobEvent) => void): void {
    if (this.closed) throw new HearthError('unavailable', 'the server is shutting down');
    const seqs = specs.map((spec, i) => new Sequence(this.model, spec, (ev) => onEvent(i, ev)));
    const free = this.slots.length - this.active.size;
    if (seqs.length > this.slots.length + this.options.queueLimit) {
      throw new HearthError('invalid_argument',
        `${seqs.length} prompts can never be queued at once: this model takes ${this.slots.length + this.options.queueLimit} ` +
        `(${this.slots.length} slots and a queue of ${this.options.queueLimit}); send fewer per request`);
    }
    if (this.queue.length + seqs.length > free + this.options.queueLimit) {
      throw new HearthError('queue_full',
        `${this.active.size} of ${this.slots.length} slots are busy and ${this.queue.length} requests are waiting (the queue holds ` +
        `${this.options.queueLimit}); ${seqs.length === 1 ? 'this request does' : `this request's ${seqs.length} prompts do`} not fit now`);
    }
    const deadline = this.options.timeoutMs > 0 ? performance.now() + this.options.timeoutMs : Infinity;
    for (const seq of seqs) {
      const entry: Entry = { seq, deadline, cancelled: false };
      const { signal } = seq.spec;
      if (signal) {
        const onAbort = () => this.cancel(entry);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
      if (!entry.cancelled) this.queue.push(entry);
    }
    this.kick();
  }

  /** Fails every queued and active job; later submits are refused. */
  close(): void {
    this.closed = true;
    for (const e of [...this.queue, ...this.active.values()]) this.cancel(e, new HearthError('unavailable', 'the server is shutting down'));
    for (const e of [...this.embeds]) this.endEmbedding(e, new HearthError('unavailable', 'the server is shutting down'));
  }

  private cancel(entry: Entry, error = new HearthError('aborted', 'the request was cancelled')): void {
    if (entry.cancelled || entry.seq.finished) return;
    entry.cancelled = true;
    const i = this.queue.indexOf(entry);
    if (i >= 0) {
      this.queue.splice(i, 1);
      entry.seq.fail(error);
    } else {
      // An active sequence leaves its slot at the start of the next step; it reports now.
      entry.seq.fail(error);
    }
  }

  private kick(): void {
    if (this.running || (this.queue.length === 0 && this.active.size === 0 && this.embeds.length === 0)) return;
    this.running = true;
    setImmediate(() => this.loop());
  }

  private loop(): void {
    try {
      this.step();
    } catch (e) {
      // A bug in a step must not wedge the server: fail every running sequence and free the slots.
      const err = e instanceof HearthError ? e : new HearthError('internal', `generation failed: ${(e as Error).message}`, { cause: e });
      for (const entry of this.active.values()) entry.seq.fail(err);
      this.retireFinished();
    }
    this.running = false;
    this.onTurn?.();
    this.kick();
  }

  /** One step: retire, admit, one batched forward pass, sample; then one embedding chunk. */
  step(): void {
    this.steps++;
    const now = performance.now();
    for (const e of this.queue.filter((e) => e.deadline <= now)) this.cancel(e, timeoutError(this.options.timeoutMs));
    for (const e of this.active.values()) if (e.deadline <= now) this.cancel(e, timeoutError(this.options.timeoutMs));
    for (const e of this.embeds.filter((e) => e.deadline <= now)) this.endEmbedding(e, timeoutError(this.options.timeoutMs));
    this.retireFinished();
    this.admit();
    if (this.active.size === 0 && this.embeds.length === 0) return;

    const t0 = performance.now();
    const decoding = [...this.active.keys()].some((seq) => !seq.prefilling);
    const chunk = decoding ? this.chunkTokens : this.options.prefillChunk;
    let budget = chunk;
    const batch: { seq: Sequence; tokens: number[]; embeddings?: Float32Array }[] = [];
    for (const { seq } of this.active.values()) {
      if (seq.prefilling) {
        if (budget <= 0) continue;
        let next: ReturnType<Sequence['nextChunk']>;
        try {
          next = seq.nextChunk(budget);
        } catch (e) {
          // an image that cannot be encoded fails its own request only
          seq.fail(e instanceof HearthError ? e : new HearthError('internal', `image encoding failed: ${(e as Error).message}`, { cause: e }));
          continue;
        }
        budget -= next.tokens.length;
        batch.push({ seq, ...next });
      } else {
        batch.push({ seq, tokens: [seq.last] });
      }
    }
    let nTokens = 0;
    let nPrompt = 0;
    if (batch.length > 0) {
      const logits = evalBatch(batch.map(({ seq, tokens, embeddings }) => ({ ctx: seq.ctx!, tokens, embeddings })));
      batch.forEach(({ seq, tokens }, i) => {
        nTokens += tokens.length;
        if (seq.prefilling) {
          nPrompt += tokens.length;
          seq.pending = seq.pending.slice(tokens.length);
          if (seq.prefilling) return;
        }
        if (!seq.finished) seq.advance(logits[i]);
      });
    }
    this.retireFinished();
    // The oldest embedding inputs that fit a step run as one batched pass (as many tokens as a prompt chunk when
    // someone decodes); a longer decoder input runs one chunk of it.
    let nEmbeds = 0;
    if (this.embeds.length > 0) {
      const budget = decoding ? chunk : this.options.prefillChunk;
      const group = takeBatch(this.embeds.map((e) => e.job), 0, budget);
      const entries = this.embeds.slice(0, group.length);
      nEmbeds = group.length;
      try {
        const n = group.length > 1
          ? (runEmbeddingBatch(this.model, group), group.reduce((sum, j) => sum + j.tokens.length, 0))
          : group[0].next(budget);
        nTokens += n;
        nPrompt += n;
        for (const e of entries) if (e.job.finished) this.endEmbedding(e, e.job.result());
      } catch (e) {
        const err = e instanceof HearthError ? e : new HearthError('internal', `embedding failed: ${(e as Error).message}`, { cause: e });
        for (const entry of entries) this.endEmbedding(entry, err);
      }
    }
    const ms = performance.now() - t0;
    this.observe(ms, nPrompt, nTokens - nPrompt);
    this.onStep?.({ sequences: batch.length + nEmbeds, tokens: nTokens, promptTokens: nPrompt, ms });
  }

  /** Updates the cost estimates from a step of nPrompt prompt tokens next to nDecode decode tokens. */
  private observe(ms: number, nPrompt: number, nDecode: number): void {
    const mix = (old: number, v: number) => (old > 0 ? old + COST_ALPHA * (v - old) : v);
    if (nPrompt === 0) {
      if (nDecode > 0) this.decodeMs = mix(this.decodeMs, ms);
      return;
    }
    const promptMs = nDecode > 0 ? ms - this.decodeMs : ms;
    this.tokenMs = mix(this.tokenMs, Math.max(promptMs, ms * 0.1) / nPrompt);
  }

  private retireFinished(): void {
    for (const [seq] of this.active) {
      if (!seq.finished) continue;
      this.active.delete(seq);
      const slot = this.slots.find((s) => s.seq === seq)!;
      slot.seq = undefined;
      slot.freedAt = this.steps;
    }
  }

  /** FIFO from the queue into free slots; each takes the free slot sharing the longest prefix with its prompt. */
  private admit(): void {
    while (this.queue.length > 0) {
      const free = this.slots.filter((s) => s.seq === undefined);
      if (free.length === 0) return;
      const entry = this.queue.shift()!;
      const prompt = entry.seq.spec.prompt;
      // The longest cached prefix wins when it covers at least half the prompt (llama-server's similarity
      // rule); otherwise the least recently used slot, so that one shared BOS does not evict a useful cache.
      let best = free[0];
      let bestLen = -1;
      let lru = free[0];
      for (const s of free) {
        const len = commonPrefix(s.ctx.tokens, prompt);
        if (len > bestLen) {
          best = s;
          bestLen = len;
        }
        if (s.freedAt < lru.freedAt) lru = s;
      }
      if (bestLen < prompt.length / 2) {
        best = lru;
        bestLen = commonPrefix(lru.ctx.tokens, prompt);
      }
      // At least the last prompt token is evaluated again, for its logits; a sliding-window ring may allow less.
      entry.seq.start(best.ctx, best.ctx.reusable(Math.min(bestLen, prompt.length - 1)));
      best.seq = entry.seq;
      this.active.set(entry.seq, entry);
    }
  }
}

function timeoutError(ms: number): HearthError {
  return new HearthError('timeout', `the request did not finish within the server's limit of ${(ms / 1000).toFixed(1)} s`);
}
