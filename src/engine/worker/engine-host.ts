// The serving thread's side of the engine thread: starts it, loads models into it and turns the message
// protocol (protocol.ts) back into the Scheduler's contract — submit() checks and queues or refuses, then each
// job reports through its callback and ends with exactly one 'done' or 'error'. Nothing here computes, so the
// event loop of the caller stays free while models run. The worker is ref'd only while work is outstanding,
// so an idle engine never keeps the process alive. If the engine thread dies, every outstanding request and
// job fails with a clear error and the next load starts a fresh thread.

import { Worker } from 'node:worker_threads';
import { HearthError } from '../../util/errors.ts';
import { collectGarbage } from '../../util/idle-gc.ts';
import { defaultEglPlatform } from '../../kernels/webgpu/gpu-device.ts';
import type { LoadOptions } from '../types.ts';
import type { Pooling } from '../../model/types.ts';
import type { JobEvent, JobSpec, KvCacheUse, SchedulerOptions, SchedulerStats, StepInfo } from '../scheduler.ts';
import {
  fromWireError, toWireSpec, type EngineMessage, type EngineRequest, type LoadReply, type ThreadsReply, type WireJobEvent,
} from './protocol.ts';

type JobHandler = (ev: WireJobEvent) => void;

/** How long close() waits for the engine thread to unload its models before terminating it. */
const SHUTDOWN_MS = 5000;
/** How long the engine is idle before the one garbage collection of that idle spell (src/util/idle-gc.ts). */
const IDLE_GC_MS = 5000;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class EngineHost {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private readonly jobs = new Map<number, JobHandler>();
  private readonly models = new Map<number, RemoteModel>();
  private nextId = 1;
  private dead: HearthError | undefined;
  private refd = false;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Whether the collection for the present idle spell has run (so its own round trip does not start another). */
  private collected = true;
  private closing: Promise<void> | undefined;

  constructor() {
    // A webgpu backend opened in the engine thread needs the C environment set from this (the main) thread.
    defaultEglPlatform();
    this.worker = new Worker(new URL('./engine-thread.ts', import.meta.url));
    this.worker.unref();
    this.worker.on('message', (m: EngineMessage) => this.receive(m));
    this.worker.on('error', (e) => this.fail(new HearthError('internal', `the engine thread failed: ${e.message}`, { cause: e })));
    this.worker.on('exit', (code) => this.fail(new HearthError('unavailable', `the engine thread exited (code ${code})`)));
  }

  /** Whether the engine thread is gone (every later call fails). */
  get closed(): boolean {
    return this.dead !== undefined;
  }

  /** Loads a model in the engine thread under its own scheduler. */
  async load(path: string, options: LoadOptions, scheduler: SchedulerOptions): Promise<RemoteModel> {
    const id = this.nextId++;
    const reply = await this.call({ op: 'load', model: id, path, options, scheduler }) as LoadReply;
    const m = new RemoteModel(this, id, reply);
    this.models.set(id, m);
    return m;
  }

  /** The kernel threads of the engine thread's pool (shared by every model loaded here). */
  threads(): Promise<ThreadsReply> {
    return this.call({ op: 'threads' }) as Promise<ThreadsReply>;
  }

  /**
   * Stops the engine thread; outstanding work fails with `unavailable`. The thread first unloads every model
   * (so a webgpu device is released in an orderly way), waited for at most SHUTDOWN_MS (it may be in the middle
   * of a long forward pass); then it is terminated.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.dead) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, SHUTDOWN_MS); });
    await Promise.race([this.call({ op: 'shutdown' }).catch(() => {}), late]);
    clearTimeout(timer);
    this.fail(new HearthError('unavailable', 'the engine has been closed'));
    await this.worker.terminate();
  }

  /** @internal */
  call(req: EngineRequest): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, req });
      this.updateRef();
    });
  }

  /** @internal Posts without waiting for the reply (cancel). */
  notify(req: EngineRequest): void {
    if (this.dead) return;
    this.call(req).catch(() => {});
  }

  /** @internal */
  addJob(job: number, handler: JobHandler): void {
    this.jobs.set(job, handler);
    this.collected = false;
    this.updateRef();
  }

  /** @internal */
  dropJob(job: number): void {
    this.jobs.delete(job);
    this.updateRef();
  }

  /** @internal */
  newJobId(): number {
    return this.nextId++;
  }

  /** @internal */
  forget(model: number): void {
    this.models.delete(model);
  }

  private receive(m: EngineMessage): void {
    if (m.type === 'reply') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(fromWireError(m.error));
    } else {
      this.models.get(m.model)?.update(m.stats, m.steps, m.kv);
      for (const [job, ev] of m.events) {
        const h = this.jobs.get(job);
        if (!h) continue;
        if (ev.type === 'done' || ev.type === 'error' || ev.type === 'embedding') this.jobs.delete(job);
        h(ev);
      }
    }
    this.updateRef();
  }

  private updateRef(): void {
    const busy = this.pending.size > 0 || this.jobs.size > 0;
    if (busy === this.refd || this.dead) return;
    this.refd = busy;
    if (busy) {
      this.worker.ref();
      clearTimeout(this.idleTimer);
    } else {
      this.worker.unref();
      if (!this.collected) {
        this.idleTimer = setTimeout(() => this.collectIdle(), IDLE_GC_MS);
        this.idleTimer.unref();
      }
    }
  }

  /** The idle spell's collection, here and in the engine thread. */
  private collectIdle(): void {
    if (this.dead || this.closing) return;
    this.collected = true;
    this.notify({ op: 'gc' });
    collectGarbage();
  }

  private fail(error: HearthError): void {
    if (this.dead) return;
    this.dead = error;
    if (shared === this) shared = undefined;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    const handlers = [...this.jobs.values()];
    this.jobs.clear();
    for (const h of handlers) h({ type: 'error', error: { code: error.code, message: error.message } });
    for (const m of this.models.values()) m.update({ ...m.stats, busy: 0, queued: 0 }, [], { ...m.kv, tokens: 0 });
    this.worker.unref();
  }
}

/** A model loaded in the engine thread: the Scheduler's submit contract, across threads. */
export class RemoteModel {
  readonly loadMs: number;
  /** Slots and queue as of the engine thread's last report. */
  stats: SchedulerStats;
  /** The slots' KV caches as of the same report. */
  kv: KvCacheUse;
  /** Called for every scheduler step that ran the model (metrics). */
  onStep: ((info: StepInfo) => void) | undefined;
  private readonly host: EngineHost;
  private readonly id: number;
  private unloaded = false;

  constructor(host: EngineHost, id: number, reply: LoadReply) {
    this.host = host;
    this.id = id;
    this.loadMs = reply.loadMs;
    this.stats = reply.stats;
    this.kv = reply.kv;
  }

  /** @internal */
  update(stats: SchedulerStats, steps: StepInfo[], kv: KvCacheUse): void {
    this.stats = stats;
    this.kv = kv;
    for (const s of steps) this.onStep?.(s);
  }

  /**
   * Queues jobs together (all or none), as Scheduler.submit does; rejects with the scheduler's error when they
   * cannot be queued. Afterwards each job reports through onEvent and ends with exactly one 'done' or 'error'.
   */
  async submit(specs: JobSpec[], onEvent: (index: number, ev: JobEvent) => void): Promise<void> {
    const jobs = specs.map(() => this.host.newJobId());
    jobs.forEach((job, i) => this.host.addJob(job, (ev) => {
      if (ev.type === 'embedding') return;
      onEvent(i, ev.type === 'error' ? { type: 'error', error: fromWireError(ev.error) } : ev);
    }));
    try {
      await this.host.call({ op: 'submit', model: this.id, jobs, specs: specs.map(toWireSpec) });
    } catch (e) {
      for (const job of jobs) this.host.dropJob(job);
      throw e;
    }
    specs.forEach((spec, i) => spec.signal && onAbort(spec.signal, () => this.host.notify({ op: 'cancel', jobs: [jobs[i]] })));
  }

  /**
   * One vector per input, in order, each a scheduler job in the engine thread (queued together, so they run as
   * batched passes); `pooling` 'rank' gives a reranker's raw scores instead of normalised embeddings.
   */
  async embed(inputs: number[][], signal?: AbortSignal, pooling?: Pooling): Promise<Float32Array[]> {
    signal?.throwIfAborted();
    const jobs = inputs.map(() => this.host.newJobId());
    const results = jobs.map((job) => new Promise<Float32Array>((resolve, reject) => this.host.addJob(job, (ev) => {
      if (ev.type === 'embedding') resolve(ev.vector);
      else if (ev.type === 'error') reject(fromWireError(ev.error));
    })));
    // A rejected input must not leave unhandled rejections behind while the others still run.
    for (const r of results) r.catch(() => {});
    try {
      await this.host.call({ op: 'embed', model: this.id, jobs, inputs, ...(pooling ? { pooling } : {}) });
    } catch (e) {
      for (const job of jobs) this.host.dropJob(job);
      throw e;
    }
    const cancel = () => this.host.notify({ op: 'cancel', jobs });
    if (signal) onAbort(signal, cancel);
    try {
      return await Promise.all(results);
    } catch (e) {
      cancel();
      throw e;
    }
  }

  /** Fails what is queued or running and frees the model in the engine thread. */
  async unload(): Promise<void> {
    if (this.unloaded) return;
    this.unloaded = true;
    this.host.forget(this.id);
    if (!this.host.closed) await this.host.call({ op: 'unload', model: this.id });
  }
}

function onAbort(signal: AbortSignal, cb: () => void): void {
  if (signal.aborted) cb();
  else signal.addEventListener('abort', cb, { once: true });
}

let shared: EngineHost | undefined;

/** The process's engine thread, started on first use (again after it has died). */
export function sharedEngine(): EngineHost {
  return (shared ??= new EngineHost());
}
