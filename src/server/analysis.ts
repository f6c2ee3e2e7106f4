// The image-analysis service: one image and a prompt through a vision model (local, or an upstream provider's through
// the gateway), and batches of them. A batch's items run through the model's scheduler, at most `concurrency` at a
// time, each claimed in the store before it runs and written there when it ends (store/batches.ts), so that a server
// started again on the same database resumes the jobs it left running and runs no finished item twice.

import { HearthError } from '../util/errors.ts';
import { FieldError } from '../api/validate.ts';
import { analyzeNative, DEFAULT_ANALYZE_PROMPT, optionsFromStored, storedOptions, type Analysis, type AnalyzeOptions, type BatchRequest } from '../api/analyze.ts';
import { decodeImage } from '../engine/vision/decode.ts';
import type { ModelManager } from '../provider/model-manager.ts';
import type { Provider } from '../provider/types.ts';
import type { Batch, BatchStore } from '../store/batches.ts';
import type { UsageEntry } from '../store/usage.ts';
import { mmprojBeside } from '../library/mmproj.ts';
import type { ApiKey } from '../store/keys.ts';
import type { RateLimiter } from './middleware/rate-limit.ts';
import { capabilityError } from './respond.ts';
import { errorInfo, RETRYABLE } from './errors.ts';

const DEFAULT_RETRY_MS = 5 * 60_000;

export interface AnalysisOptions {
  models: ModelManager;
  newId: (prefix: string) => string;
  /** The model of a request that names none (default: the one model the server serves, when it serves one). */
  defaultModel?: string;
  /** Most pixels an image may have (default decode.ts's). */
  maxPixels?: number;
}

/** A vision model as GET /api/v1/models lists it. */
export interface VisionModel {
  id: string;
  /** "local", or the upstream provider that serves it. */
  provider: string;
  loaded: boolean;
}

export interface AnalysisRun {
  analysis: Analysis;
  /** The upstream that answered, for the audit. */
  origin?: { provider: string; model: string };
}

export class AnalysisService {
  private readonly o: AnalysisOptions;

  constructor(o: AnalysisOptions) {
    this.o = o;
  }

  /** The model a request names, or the default: the server's one model; else a 400 asking for one. */
  modelName(name: string | undefined): string {
    if (name !== undefined) return name;
    if (this.o.defaultModel !== undefined) return this.o.defaultModel;
    const local = this.o.models.source.list().filter((m) => !m.upstream);
    if (local.length === 1) return local[0]!.name;
    const vision = this.visionModels().map((m) => m.id);
    throw new FieldError('model', `name a vision model in "model" (this server serves ${local.length} local models${vision.length ? `; vision models: ${vision.join(', ')}` : ''}; GET /api/v1/models lists them)`);
  }

  /**
   * Vision models: loaded local models whose card says vision, local models not loaded with an encoder beside their
   * file (NAME.mmproj.gguf, library/mmproj.ts), and every model of the gateway's providers (whether the upstream model reads images is the upstream's
   * to say).
   */
  visionModels(): VisionModel[] {
    const loaded = new Map(this.o.models.list().map((m) => [m.name, m]));
    const out: VisionModel[] = [];
    for (const m of this.o.models.source.list()) {
      if (m.upstream) {
        out.push({ id: m.name, provider: m.upstream.route[0]?.provider ?? 'gateway', loaded: true });
        continue;
      }
      const card = loaded.get(m.name)?.card;
      if (card ? card.capabilities.vision : m.path && mmprojBeside(m.path)) out.push({ id: m.name, provider: 'local', loaded: card !== undefined });
    }
    return out;
  }

  /**
   * The model a batch names, checked before any item is queued: unknown is a 404 about `model`, and a loaded model
   * without vision a 400 (one not loaded yet is checked by its first item).
   */
  checkModel(name: string): void {
    const provider = this.o.models.provider(name);
    if (provider) {
      if (!provider.card.capabilities.vision) throw capabilityError(provider, 'vision');
      return;
    }
    if (!this.o.models.source.get(name)) {
      const names = this.visionModels().map((m) => m.id);
      throw new FieldError('model', `model "${name}" not found${names.length ? `; vision models: ${names.join(', ')}` : ''}`, 'not_found');
    }
  }

  /** Brings the gateway's upstream model lists up to date (before visionModels). */
  async refresh(): Promise<void> {
    await this.o.models.source.refresh?.();
  }

  /** Analyses one image: its facts from the decoder (a bad image is a 400 before a model is touched), then the model's text. */
  async analyze(req: { image: Uint8Array; prompt?: string; model?: string } & AnalyzeOptions, signal?: AbortSignal): Promise<AnalysisRun> {
    const t0 = performance.now();
    const name = this.modelName(req.model);
    const img = await decodeImage(req.image, { maxPixels: this.o.maxPixels });
    let lease;
    try {
      lease = await this.o.models.acquire(name);
    } catch (e) {
      if (e instanceof HearthError && e.code === 'not_found') throw new FieldError('model', e.message, 'not_found');
      throw e;
    }
    try {
      const provider: Provider = lease.provider;
      if (!provider.card.capabilities.vision) throw capabilityError(provider, 'vision');
      const run = await provider.generate(analyzeNative(name, req.image, req.prompt ?? DEFAULT_ANALYZE_PROMPT, req), signal);
      const [r] = await run.collect();
      if (!r) throw new HearthError('internal', 'the model gave no answer');
      let structured: unknown;
      if (req.format) {
        try {
          structured = JSON.parse(r.text) as unknown;
        } catch {
          // cut short (max_tokens): the text is there, the object is not
        }
      }
      return {
        analysis: {
          id: this.o.newId('an_'), model: provider.card.id, provider: run.origin?.provider ?? 'local', text: r.text,
          ...(structured !== undefined ? { structured } : {}),
          image: { width: img.width, height: img.height, format: img.format },
          inputTokens: r.usage.promptTokens, outputTokens: r.usage.completionTokens, durationMs: performance.now() - t0,
        },
        ...(run.origin ? { origin: run.origin } : {}),
      };
    } finally {
      lease.release();
    }
  }
}

export interface BatchRunnerOptions {
  store: BatchStore;
  service: AnalysisService;
  newId: (prefix: string) => string;
  /** One usage row per item run (the route of the batch, its key, the item's tokens). */
  audit?: (e: UsageEntry) => void;
  /**
   * Each item as a request of the batch's key: the key must still be valid (revoked or expired, the item fails
   * `unauthorized`), and the key's rate limits (requests, tokens, concurrency) admit it as any request.
   */
  keys?: { get(id: string): ApiKey | undefined };
  limiter?: RateLimiter;
  /** How long an item is retried while its model is loading or its queue is full (default 5 minutes). */
  retryMs?: number;
  /** A job that stopped on an error of its own (the store failing), for the log. */
  onError?: (id: string, e: Error) => void;
  now?: () => number;
}

interface Job {
  id: string;
  ac: AbortController;
  done: Promise<void>;
}

/** Runs stored batches: each job's items through the service, at most its concurrency at a time. */
export class BatchRunner {
  private readonly o: BatchRunnerOptions;
  private readonly jobs = new Map<string, Job>();
  private closed = false;

  constructor(o: BatchRunnerOptions) {
    this.o = o;
  }

  /** Stores a new job and starts it. */
  create(req: BatchRequest, keyId: string | undefined): Batch {
    const model = this.o.service.modelName(req.model);
    this.o.service.checkModel(model);
    const batch = this.o.store.create({
      id: this.o.newId('batch_'), ...(keyId !== undefined ? { keyId } : {}), model, ...(req.prompt !== undefined ? { prompt: req.prompt } : {}),
      options: storedOptions(req), concurrency: req.concurrency, items: req.items,
    });
    this.start(batch.id);
    return batch;
  }

  /** Starts every job a stopped server left running; returns how many. */
  resume(): number {
    const ids = this.o.store.recover();
    for (const id of ids) this.start(id);
    return ids.length;
  }

  /** Resolves when the job is no longer running here (finished, cancelled, or the runner closed). */
  async wait(id: string, signal?: AbortSignal): Promise<void> {
    const job = this.jobs.get(id);
    if (!job) return;
    if (!signal) return job.done;
    await Promise.race([job.done, new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))]);
  }

  /** Cancels a running job: items in flight are stopped, pending ones never start. False when it was not running. */
  cancel(id: string): boolean {
    const cancelled = this.o.store.cancel(id);
    this.jobs.get(id)?.ac.abort();
    return cancelled;
  }

  /** Stops every job's items in flight, leaving them pending in the store for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    const jobs = [...this.jobs.values()];
    for (const j of jobs) j.ac.abort();
    await Promise.all(jobs.map((j) => j.done));
  }

  /**
   * Runs fn again while it fails with a retryable error (the model still loading, its queue full), waiting a little
   * longer each time, for at most `retryMs`; then its error stands.
   */
  private async retrying<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
    const t0 = Date.now();
    for (let wait = 50; ; wait = Math.min(wait * 2, 2000)) {
      try {
        return await fn();
      } catch (e) {
        if (!RETRYABLE.has(errorInfo(e).code) || signal.aborted || Date.now() - t0 + wait > (this.o.retryMs ?? DEFAULT_RETRY_MS)) throw e;
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /**
   * The batch's key, checked and admitted by its rate limits (waiting while it is over them); undefined when the
   * batch has no key or the key has no limits. A key revoked or expired since is `unauthorized`.
   */
  private async admit(keyId: string | undefined, signal: AbortSignal): Promise<{ key: ApiKey } | undefined> {
    if (keyId === undefined || !this.o.keys) return undefined;
    for (;;) {
      const key = this.o.keys.get(keyId);
      const now = this.o.now?.() ?? Date.now();
      if (!key || key.revokedAt !== undefined || (key.expiresAt !== undefined && key.expiresAt <= now)) {
        throw new HearthError('unauthorized', 'the API key that created this batch has been revoked or has expired');
      }
      if (!this.o.limiter || (key.rpm === undefined && key.tpm === undefined && key.concurrency === undefined)) return undefined;
      const a = await this.o.limiter.admit(key.id, key);
      if (a.ok) return { key };
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, a.retryAfterMs);
        signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
      if (signal.aborted) throw new HearthError('aborted', 'the batch was stopped');
    }
  }

  private start(id: string): void {
    if (this.jobs.has(id) || this.closed) return;
    const batch = this.o.store.get(id, null);
    if (!batch || batch.status !== 'running') return;
    const ac = new AbortController();
    const job: Job = { id, ac, done: Promise.resolve() };
    this.jobs.set(id, job);
    const options = optionsFromStored(batch.options);
    const worker = async () => {
      while (!ac.signal.aborted) {
        if (this.o.store.get(id, null)?.counts.pending === 0) return;
        // admitted as a request of the batch's key before the item is taken, so an item waits unclaimed
        let admitted: { key: ApiKey } | undefined;
        let refused: Error | undefined;
        try {
          admitted = await this.admit(batch.keyId, ac.signal);
        } catch (e) {
          if (ac.signal.aborted) return;
          refused = e as Error;
        }
        const item = this.o.store.claim(id);
        if (!item) {
          if (admitted) await this.o.limiter!.release(admitted.key.id, admitted.key, 0);
          return;
        }
        const t0 = this.o.now?.() ?? Date.now();
        let tokens: { prompt?: number; completion?: number } = {};
        let status = 200;
        let origin: AnalysisRun['origin'];
        try {
          if (refused) throw refused;
          const run = await this.retrying(() => this.o.service.analyze({ image: item.image, prompt: item.prompt ?? batch.prompt, model: batch.model, ...options }, ac.signal), ac.signal);
          origin = run.origin;
          tokens = { prompt: run.analysis.inputTokens, completion: run.analysis.outputTokens };
          this.o.store.complete(id, item.seq, run.analysis);
        } catch (e) {
          const info = errorInfo(e);
          status = info.status;
          if (ac.signal.aborted) {
            // cancelled (the store has it so already) or the server is closing: the item has not finished
            if (this.closed) this.o.store.release(id, item.seq);
            status = 499;
          } else {
            this.o.store.fail(id, item.seq, { code: info.code, message: info.message });
          }
        }
        if (admitted) await this.o.limiter!.release(admitted.key.id, admitted.key, (tokens.prompt ?? 0) + (tokens.completion ?? 0));
        this.o.audit?.({
          at: this.o.now?.() ?? Date.now(), keyId: batch.keyId, requestId: `${id}/${item.seq}`, method: 'POST', route: '/api/v1/batch',
          model: batch.model, promptTokens: tokens.prompt, completionTokens: tokens.completion, status, durationMs: (this.o.now?.() ?? Date.now()) - t0,
          ...(origin ? { provider: origin.provider, upstreamModel: origin.model } : {}),
        });
      }
    };
    job.done = (async () => {
      try {
        await Promise.all(Array.from({ length: Math.min(batch.concurrency, batch.total) }, worker));
        if (!ac.signal.aborted) this.o.store.finish(id);
      } catch (e) {
        this.o.onError?.(id, e as Error);
      } finally {
        this.jobs.delete(id);
      }
    })();
  }
}
