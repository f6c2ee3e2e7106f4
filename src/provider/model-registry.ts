// The models a server answers for: each entry loads one Provider (a local model or an upstream) and a request's
// model name resolves to the provider whose card it names. Loading state is per entry, so a server can listen
// (and answer 503) while a model loads.

import { HearthError } from '../util/errors.ts';
import type { ModelCard } from '../api/native.ts';
import { nameMatches } from './model-card.ts';
import type { Provider } from './types.ts';

export type ModelState = 'loading' | 'ready' | 'failed';

export class ModelEntry<P extends Provider = Provider> {
  private readonly load: () => P | Promise<P>;
  private provider: P | undefined;
  private loading: Promise<P> | undefined;
  private readonly readyCallbacks: ((provider: P) => void)[] = [];
  /** Why loading failed, once it has. */
  failure: Error | undefined;

  constructor(load: () => P | Promise<P>) {
    this.load = load;
  }

  get state(): ModelState {
    return this.provider ? 'ready' : this.failure ? 'failed' : 'loading';
  }

  /** Starts loading on the next event-loop turn (once). */
  start(): Promise<P> {
    this.loading ??= new Promise<void>((r) => setImmediate(r))
      .then(() => this.load())
      .then((provider) => {
        this.provider = provider;
        for (const cb of this.readyCallbacks.splice(0)) cb(provider);
        return provider;
      }, (e: Error) => {
        this.failure = e;
        throw e;
      });
    return this.loading;
  }

  /** Calls back once the provider is ready (at once when it already is). */
  onReady(cb: (provider: P) => void): void {
    if (this.provider) cb(this.provider);
    else this.readyCallbacks.push(cb);
  }

  /** The provider, or `unavailable` while loading / after a failed load. */
  ready(): P {
    if (this.provider) return this.provider;
    throw this.unavailable();
  }

  unavailable(): HearthError {
    if (this.failure) return new HearthError('unavailable', `the model failed to load: ${this.failure.message}`);
    return new HearthError('unavailable', 'the model is still loading; retry shortly');
  }

  close(): void {
    this.provider?.close();
  }
}

export class ModelRegistry {
  private readonly list: ModelEntry[] = [];

  /** Registers a model; it loads when the entry (or the registry) is started. */
  add<P extends Provider>(load: () => P | Promise<P>): ModelEntry<P> {
    const entry = new ModelEntry(load);
    // Entries are only read as Provider here, which every P is.
    this.list.push(entry as unknown as ModelEntry);
    return entry;
  }

  get entries(): readonly ModelEntry[] {
    return this.list;
  }

  /** 'ready' when every model is, 'failed' when one failed, 'loading' otherwise. */
  get state(): ModelState {
    if (this.list.some((e) => e.state === 'failed')) return 'failed';
    return this.list.every((e) => e.state === 'ready') ? 'ready' : 'loading';
  }

  /** The first failure, when a model failed to load. */
  get failure(): Error | undefined {
    return this.list.find((e) => e.failure)?.failure;
  }

  /** Calls back as each model becomes ready. */
  onReady(cb: (provider: Provider) => void): void {
    for (const e of this.list) e.onReady(cb);
  }

  /** The loaded providers in registration order; `unavailable` while none is. */
  loaded(): Provider[] {
    const ready = this.list.filter((e) => e.state === 'ready').map((e) => e.ready());
    if (ready.length === 0) throw this.list.find((e) => e.state === 'failed')?.unavailable() ?? this.list[0]?.unavailable() ??
      new HearthError('unavailable', 'no model is configured');
    return ready;
  }

  /** The provider `name` names; `unavailable` while it may still be loading, not_found otherwise. */
  resolve(name: string): Provider {
    const providers = this.loaded();
    const found = providers.find((p) => nameMatches(p.card, name));
    if (found) return found;
    const pending = this.list.find((e) => e.state !== 'ready');
    if (pending) throw pending.unavailable();
    const names = providers.map((p) => `"${p.card.id}"`).join(', ');
    throw new HearthError('not_found', `model "${name}" is not served here; this server serves ${names}`);
  }

  /** The card of the loaded model `name` names, if any (its aliases compare as one). */
  find(name: string): ModelCard | undefined {
    return this.list.filter((e) => e.state === 'ready').map((e) => e.ready().card).find((c) => nameMatches(c, name));
  }

  close(): void {
    for (const e of this.list) e.close();
  }
}
