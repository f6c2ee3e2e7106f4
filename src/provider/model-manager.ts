// The models a server may answer for, loaded on demand and unloaded when idle, within a memory budget. Names
// resolve through a ModelSource (the library, or the files named on the command line); a request holds a lease
// on its model while it runs, and when the last lease is released the model stays loaded for its keep-alive,
// then unloads. Before a load the model's memory is estimated; idle models are unloaded least recently used
// first until the new one fits, and a model that cannot fit fails at once with insufficient_memory.

import { freemem } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { HearthError } from '../util/errors.ts';
import { cgroupMemoryLimit } from '../engine/system.ts';
import { estimateModelBytes, type FitOptions } from '../engine/fit.ts';
import type { ModelCard } from '../api/native.ts';
import type { LibraryModel, ModelSource } from '../library/types.ts';
import { nameMatches } from './model-card.ts';
import type { Provider } from './types.ts';

/** keep_alive in milliseconds: FOREVER (any negative value) never expires, 0 unloads as soon as the model is idle. */
export const FOREVER = -1;
export const DEFAULT_KEEP_ALIVE_MS = 5 * 60_000;

export interface ModelManagerOptions {
  source: ModelSource;
  /** Loads a model's provider (a LocalProvider over its file, or an upstream). */
  load: (model: LibraryModel) => Promise<Provider>;
  /** Bytes the model will take once loaded (default 0: not counted against the budget). */
  estimate?: (model: LibraryModel) => number;
  /** Milliseconds an idle model stays loaded (default 5 minutes; negative: forever). */
  keepAliveMs?: number;
  /** Most models loaded at once (default 0: no limit but memory). */
  maxLoaded?: number;
  /** Bytes every loaded model may take together (default defaultMemoryBudget(), read once). */
  maxMemory?: number;
  now?: () => number;
}

export interface Lease {
  readonly provider: Provider;
  /** Ends the lease (only the first call counts); the model's idle timer starts when its last lease ends. */
  release(): void;
}

export interface AcquireOptions {
  /** The request's keep_alive (ms): it replaces the model's expiry when the lease ends. */
  keepAliveMs?: number;
  /**
   * Wait for a model given at start that is still loading, instead of `unavailable` ("retry shortly"): for a caller
   * that does not retry (an MCP tool call).
   */
  waitForStartup?: boolean;
}

/** A loaded or loading model, as /api/ps shows it. */
export interface LoadedModelInfo {
  name: string;
  model: LibraryModel;
  /** The provider's card once loaded. */
  card?: ModelCard;
  state: 'loading' | 'ready' | 'failed';
  /** The memory estimate the budget counted. */
  bytes: number;
  /** Requests holding the model now. */
  leases: number;
  /** When it unloads: undefined = never; while loading, the load's start; while leased, now + its keep-alive. */
  expiresAt: Date | undefined;
  loadStartedAt: Date;
}

/** Whether a model can answer now (/health/ready). */
export type ModelReadiness =
  | { ready: true; state: 'loaded' | 'loadable' }
  | { ready: false; state: 'loading' | 'failed' | 'not_found' | 'missing_file' | 'too_big'; reason: string };

export type HealthState =
  | { status: 'ok'; loaded: string[]; loading: string[]; providers: Provider[] }
  | { status: 'loading' }
  | { status: 'error'; error: string };

interface Slot {
  key: string;
  model: LibraryModel;
  bytes: number;
  loading: Promise<Provider>;
  provider?: Provider;
  failure?: Error;
  /** Loaded at start (serve MODEL): requests meanwhile are told to retry, and a failure is the server's. */
  startup: boolean;
  leases: number;
  keepAliveMs: number;
  lastUsed: number;
  loadStartedAt: number;
  expiresAt: number | undefined;
  timer?: NodeJS.Timeout;
}

const GiB = 1024 ** 3;
export const formatBytes = (n: number): string => (n >= GiB ? `${(n / GiB).toFixed(2)} GiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`);

/** Names compare case-insensitively, and "x" is "x:latest" (as library/describe.ts canonicalName). */
const keyOf = (name: string): string => {
  const n = name.toLowerCase();
  return n.endsWith(':latest') ? n.slice(0, -':latest'.length) : n;
};

/** The bytes every loaded model may take when no --max-memory is given: see defaultMemoryBudget. */
export const HEADROOM_MIN = 512 * 1024 ** 2;

/** cgroup v2 memory.current (v1 memory.usage_in_bytes), if readable. */
function cgroupMemoryUsage(root = '/sys/fs/cgroup'): number | undefined {
  for (const file of [`${root}/memory.current`, `${root}/memory/memory.usage_in_bytes`]) {
    try {
      const n = Number(readFileSync(file, 'utf8').trim());
      if (Number.isFinite(n)) return n;
    } catch { /* next */ }
  }
  return undefined;
}

/**
 * The memory models may take: the smaller of the system's available memory and what the cgroup still allows
 * (limit − usage), less a headroom of 10% of it or 512 MiB, whichever is more (for the process itself, requests'
 * buffers and other programs). Read once when the server starts.
 */
export function defaultMemoryBudget(): number {
  let available = freemem();
  const limit = cgroupMemoryLimit();
  const used = limit ? cgroupMemoryUsage() : undefined;
  if (limit && used !== undefined) available = Math.min(available, limit - used);
  return Math.max(0, available - Math.max(HEADROOM_MIN, available * 0.1));
}

/** "8GiB", "512MiB", "2GB", "1.5G", "1048576": bytes. */
export function parseMemorySize(text: string, what = '--max-memory'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$/i.exec(text);
  if (!m) throw new HearthError('invalid_argument', `${what} must be a size such as 8GiB, 512MiB or a number of bytes; got "${text}"`);
  const power = ' kmgt'.indexOf(m[2]!.toLowerCase() || ' ');
  const base = m[3] || power === 0 ? 1024 : 1000;
  return Math.round(Number(m[1]) * base ** power);
}

/**
 * A local model's memory as LocalProvider allocates it: weights once, one KV cache of nCtx per slot
 * (--parallel), scratch and the per-thread buffers (engine/fit.ts estimateModelBytes).
 */
export function localModelBytes(path: string, o: FitOptions & { parallel: number }): number {
  const e = estimateModelBytes(path, { nCtx: o.nCtx, backend: o.backend, threads: o.threads, nBatch: o.nBatch });
  return e.total + Math.max(0, o.parallel - 1) * e.kv;
}

export class ModelManager {
  private readonly o: ModelManagerOptions;
  private readonly slots = new Map<string, Slot>();
  private readonly loadCallbacks: ((provider: Provider, model: LibraryModel) => void)[] = [];
  /** Unloads in progress: a new load waits for their memory to be freed. */
  private freeing: Promise<void>[] = [];
  readonly keepAliveMs: number;
  readonly maxLoaded: number;
  readonly budget: number;
  /** Memory estimates by model name, for readiness() (a probe must not read the file each time). */
  private readonly estimates = new Map<string, number>();
  private closed = false;

  constructor(o: ModelManagerOptions) {
    this.o = o;
    this.keepAliveMs = o.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
    this.maxLoaded = o.maxLoaded ?? 0;
    this.budget = o.maxMemory ?? (o.estimate ? defaultMemoryBudget() : Infinity);
    if (!Number.isInteger(this.maxLoaded) || this.maxLoaded < 0) throw new HearthError('invalid_argument', `maxLoaded must be an integer >= 0; got ${this.maxLoaded}`);
  }

  get source(): ModelSource {
    return this.o.source;
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** Calls back as each model finishes loading (metrics hook their step observer here). */
  onLoad(cb: (provider: Provider, model: LibraryModel) => void): void {
    this.loadCallbacks.push(cb);
  }

  /** The model `name` names: in the source, or a loaded model whose card answers to it (its file name). */
  lookup(name: string): LibraryModel | undefined {
    const m = this.o.source.get(name);
    if (m) return m;
    for (const s of this.slots.values()) if (s.provider && nameMatches(s.provider.card, name)) return s.model;
    return undefined;
  }

  /** The name `name` stands for (aliases and :latest compare as one); `name` itself when none is known. */
  canonical(name: string): string {
    return this.lookup(name)?.name ?? name;
  }

  /** The not_found error for `name`, naming what is served. */
  notFound(name: string): HearthError {
    const names = this.o.source.list().map((m) => `"${m.name}"`);
    return new HearthError('not_found', names.length
      ? `model "${name}" is not served here; this server serves ${names.join(', ')}`
      : `model "${name}" is not served here; this server has no models (pull one, or start it with a model file)`);
  }

  /** Loads `name` now as the server starts: requests meanwhile are told to retry, and /health waits for it. */
  preload(name: string): Promise<Provider> {
    const model = this.lookup(name);
    if (!model) return Promise.reject(this.notFound(name));
    const slot = this.startLoad(model, true);
    return slot.loading.then((p) => {
      if (slot.leases === 0) this.scheduleExpiry(slot);
      return p;
    });
  }

  /** A lease on `name`'s provider, loading the model first when it is not loaded (concurrent calls share one load). */
  async acquire(name: string, o: AcquireOptions = {}): Promise<Lease> {
    if (this.closed) throw new HearthError('unavailable', 'the server is shutting down');
    const model = this.lookup(name);
    if (!model) throw this.notFound(name);
    let slot = this.slots.get(keyOf(model.name));
    if (slot?.failure) throw new HearthError('unavailable', `the model failed to load: ${slot.failure.message}`);
    if (slot && !slot.provider && slot.startup && !o.waitForStartup) throw new HearthError('unavailable', 'the model is still loading; retry shortly');
    slot ??= this.startLoad(model, false);
    // held while waiting, so that the load is not unloaded (or evicted) before this request runs
    slot.leases++;
    this.clearTimer(slot);
    let provider: Provider;
    try {
      provider = await slot.loading;
    } catch (e) {
      slot.leases--;
      throw e;
    }
    let released = false;
    return {
      provider,
      release: () => {
        if (released) return;
        released = true;
        this.releaseSlot(slot, o.keepAliveMs);
      },
    };
  }

  private releaseSlot(slot: Slot, keepAliveMs: number | undefined): void {
    slot.leases--;
    slot.lastUsed = this.now();
    if (keepAliveMs !== undefined) slot.keepAliveMs = keepAliveMs;
    if (slot.leases === 0 && this.slots.get(slot.key) === slot) this.scheduleExpiry(slot);
  }

  private clearTimer(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
  }

  private scheduleExpiry(slot: Slot): void {
    this.clearTimer(slot);
    if (slot.keepAliveMs < 0) {
      slot.expiresAt = undefined;
      return;
    }
    if (slot.keepAliveMs === 0) {
      this.evict(slot);
      return;
    }
    slot.expiresAt = this.now() + slot.keepAliveMs;
    // setTimeout's limit is 2^31-1 ms (about 24.8 days); longer keep-alives re-arm
    const wait = Math.min(slot.keepAliveMs, 2 ** 31 - 1);
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (slot.leases > 0 || this.slots.get(slot.key) !== slot) return;
      if (slot.expiresAt !== undefined && slot.expiresAt > this.now() + 5) {
        slot.keepAliveMs = slot.expiresAt - this.now();
        this.scheduleExpiry(slot);
      } else this.evict(slot);
    }, wait);
    slot.timer.unref();
  }

  /** Removes an idle slot at once (its memory is then counted free) and frees its model. */
  private evict(slot: Slot): void {
    this.clearTimer(slot);
    if (this.slots.get(slot.key) === slot) this.slots.delete(slot.key);
    const freed = Promise.resolve(slot.provider?.close()).catch(() => {});
    this.freeing.push(freed);
    void freed.then(() => { this.freeing = this.freeing.filter((p) => p !== freed); });
  }

  /**
   * Makes room for `model` (idle models unloaded least recently used first) or throws: insufficient_memory when
   * its estimate cannot fit, unavailable when --max-loaded models are all busy. Synchronous, so that two loads
   * starting together see each other.
   */
  private makeRoom(model: LibraryModel, bytes: number): void {
    const used = () => [...this.slots.values()].reduce((s, x) => s + x.bytes, 0);
    const idle = () => [...this.slots.values()].filter((s) => s.provider && s.leases === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    const loadedList = () => [...this.slots.values()].map((s) => `${s.model.name} ${formatBytes(s.bytes)}${s.leases ? ' (busy)' : s.provider ? '' : ' (loading)'}`).join(', ') || 'none';
    if (bytes > this.budget) {
      throw new HearthError('insufficient_memory', `model "${model.name}" requires more memory (${formatBytes(bytes)}) than is available (${formatBytes(this.budget)}` +
        `${this.o.maxMemory !== undefined ? ', --max-memory' : ''}); loaded: ${loadedList()}`);
    }
    while (used() + bytes > this.budget || (this.maxLoaded > 0 && this.slots.size >= this.maxLoaded)) {
      const victim = idle()[0];
      if (!victim) {
        if (this.maxLoaded > 0 && this.slots.size >= this.maxLoaded && used() + bytes <= this.budget) {
          throw new HearthError('unavailable', `${this.slots.size} models are loaded and busy (at most ${this.maxLoaded}, --max-loaded); retry shortly. Loaded: ${loadedList()}`);
        }
        throw new HearthError('insufficient_memory', `model "${model.name}" requires ${formatBytes(bytes)}, but only ${formatBytes(Math.max(0, this.budget - used()))} of ` +
          `${formatBytes(this.budget)} is available and every loaded model is busy; loaded: ${loadedList()}`);
      }
      this.evict(victim);
    }
  }

  private startLoad(model: LibraryModel, startup: boolean): Slot {
    const key = keyOf(model.name);
    const existing = this.slots.get(key);
    if (existing && !existing.failure) return existing;
    const bytes = this.o.estimate?.(model) ?? 0;
    this.makeRoom(model, bytes);
    const now = this.now();
    const slot: Slot = {
      key, model, bytes, startup, leases: 0, keepAliveMs: this.keepAliveMs, lastUsed: now, loadStartedAt: now, expiresAt: undefined,
      loading: undefined as unknown as Promise<Provider>,
    };
    const pending = [...this.freeing];
    slot.loading = Promise.all(pending)
      .then(() => new Promise<void>((r) => setImmediate(r)))
      .then(() => this.o.load(model))
      .then((provider) => {
        if (this.slots.get(key) !== slot || this.closed) {
          // unloaded (or the server closed) while it loaded
          void Promise.resolve(provider.close()).catch(() => {});
          throw new HearthError('unavailable', `model "${model.name}" was unloaded while it loaded`);
        }
        slot.provider = provider;
        slot.lastUsed = this.now();
        for (const cb of this.loadCallbacks) cb(provider, model);
        return provider;
      }, (e: Error) => {
        // a model that fails to load must not hold memory or block a retry; a startup failure stays for /health
        if (startup) slot.failure = e;
        else if (this.slots.get(key) === slot) this.slots.delete(key);
        throw e;
      });
    // waiters see the rejection; this keeps an unobserved failure from being an unhandled rejection
    slot.loading.catch(() => {});
    this.slots.set(key, slot);
    return slot;
  }

  /**
   * Unloads `name` (as Ollama's keep_alive 0 and `ollama stop`): at once when idle, else as soon as its last
   * request ends. False when it was not loaded.
   */
  async unload(name: string): Promise<boolean> {
    // by its slot too: a model deleted from the library is no longer in the source
    const slot = this.slots.get(keyOf(this.lookup(name)?.name ?? name));
    if (!slot) return false;
    if (slot.leases > 0 || !slot.provider) {
      slot.keepAliveMs = 0;
      if (!slot.provider && !slot.failure) await slot.loading.then(() => { if (slot.leases === 0) this.evict(slot); }, () => {});
      else if (slot.failure) this.slots.delete(slot.key);
      return true;
    }
    this.evict(slot);
    await Promise.all(this.freeing);
    return true;
  }

  /** Every loaded or loading model, in load order. */
  list(): LoadedModelInfo[] {
    const now = this.now();
    return [...this.slots.values()].map((s) => ({
      name: s.model.name, model: s.model, card: s.provider?.card,
      state: s.provider ? 'ready' : s.failure ? 'failed' : 'loading',
      bytes: s.bytes, leases: s.leases, loadStartedAt: new Date(s.loadStartedAt),
      expiresAt: !s.provider ? new Date(s.loadStartedAt)
        : s.keepAliveMs < 0 ? undefined
        : s.leases > 0 ? new Date(now + s.keepAliveMs)
        : s.expiresAt === undefined ? undefined : new Date(s.expiresAt),
    }));
  }

  /** The providers loaded now. */
  providers(): Provider[] {
    return [...this.slots.values()].flatMap((s) => (s.provider ? [s.provider] : []));
  }

  /** The provider of `name` when it is loaded. */
  provider(name: string): Provider | undefined {
    const model = this.lookup(name);
    return model && this.slots.get(keyOf(model.name))?.provider;
  }

  /** 'loading' while a startup model loads, 'error' when one failed; otherwise ok, whatever loads on demand. */
  health(): HealthState {
    const slots = [...this.slots.values()];
    const failed = slots.find((s) => s.startup && s.failure);
    if (failed) return { status: 'error', error: failed.failure!.message };
    if (slots.some((s) => s.startup && !s.provider)) return { status: 'loading' };
    return {
      status: 'ok',
      loaded: slots.filter((s) => s.provider).map((s) => s.model.name),
      loading: slots.filter((s) => !s.provider && !s.failure).map((s) => s.model.name),
      providers: this.providers(),
    };
  }

  /**
   * Whether `name` can answer: loaded, or loadable now (in the source, its file there, its estimate within the
   * budget; idle models would be unloaded to make room). Loading, a startup load that failed, and a model that can
   * never fit are not ready.
   */
  readiness(name: string): ModelReadiness {
    const model = this.lookup(name);
    if (!model) return { ready: false, state: 'not_found', reason: this.notFound(name).message };
    const slot = this.slots.get(keyOf(model.name));
    if (slot?.provider) return { ready: true, state: 'loaded' };
    if (slot?.failure) return { ready: false, state: 'failed', reason: `model "${model.name}" failed to load: ${slot.failure.message}` };
    if (slot) return { ready: false, state: 'loading', reason: `model "${model.name}" is loading` };
    if (!model.upstream && model.path && !existsSync(model.path)) {
      return { ready: false, state: 'missing_file', reason: `model "${model.name}": its file ${model.path} is gone` };
    }
    let bytes = this.estimates.get(model.name);
    if (bytes === undefined) {
      try {
        bytes = this.o.estimate?.(model) ?? 0;
      } catch (e) {
        return { ready: false, state: 'missing_file', reason: `model "${model.name}" cannot be read: ${(e as Error).message}` };
      }
      this.estimates.set(model.name, bytes);
    }
    if (bytes > this.budget) {
      return { ready: false, state: 'too_big', reason: `model "${model.name}" needs ${formatBytes(bytes)}, more than the memory budget (${formatBytes(this.budget)})` };
    }
    return { ready: true, state: 'loadable' };
  }

  /** Unloads every model; later acquires fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of [...this.slots.values()]) {
      this.clearTimer(s);
      if (s.provider) this.evict(s);
      else this.slots.delete(s.key);
    }
    await Promise.all(this.freeing);
  }
}
