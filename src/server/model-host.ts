// The served model: loading state (for /health), the model card clients see, the scheduler, and the names a
// request may use for it (file name, alias, and Ollama's "name:latest").

import { createHash } from 'node:crypto';
import { openSync, readSync, closeSync, statSync } from 'node:fs';
import { HearthError } from '../util/errors.ts';
import { openGGUF, typeName } from '../gguf/index.ts';
import type { LoadedModel } from '../model/load.ts';
import type { ModelCard } from '../api/native.ts';
import { Scheduler, type SchedulerOptions } from '../engine/scheduler.ts';

export interface Served {
  readonly model: LoadedModel;
  readonly card: ModelCard;
  readonly scheduler: Scheduler;
}

export type HostState = 'loading' | 'ready' | 'failed';

export interface ModelHostOptions {
  /** Loads the model; may be synchronous (loadModel) or a promise. */
  load: () => LoadedModel | Promise<LoadedModel>;
  /** The name clients use instead of the file name. */
  alias?: string;
  scheduler: SchedulerOptions;
}

export class ModelHost {
  private readonly options: ModelHostOptions;
  private served: Served | undefined;
  /** Why loading failed, once it has. */
  failure: Error | undefined;
  private loading: Promise<Served> | undefined;
  private readonly readyCallbacks: ((served: Served) => void)[] = [];

  constructor(options: ModelHostOptions) {
    if (options.alias !== undefined && !/^[\w.:\-/]{1,128}$/.test(options.alias)) {
      throw new HearthError('invalid_argument', `alias "${options.alias}" must be 1-128 letters, digits or . _ - : /`);
    }
    this.options = options;
  }

  get state(): HostState {
    return this.served ? 'ready' : this.failure ? 'failed' : 'loading';
  }

  /** Starts loading on the next event-loop turn, so a server can listen (and answer 503) meanwhile. */
  start(): Promise<Served> {
    this.loading ??= new Promise<void>((r) => setImmediate(r))
      .then(() => this.options.load())
      .then((model) => {
        const served = { model, card: modelCard(model, this.options.alias), scheduler: new Scheduler(model, this.options.scheduler) };
        this.served = served;
        for (const cb of this.readyCallbacks.splice(0)) cb(served);
        return served;
      }, (e: Error) => {
        this.failure = e;
        throw e;
      });
    return this.loading;
  }

  /** Calls back once the model is ready (at once when it already is). */
  onReady(cb: (served: Served) => void): void {
    if (this.served) cb(this.served);
    else this.readyCallbacks.push(cb);
  }

  /** The served model, or `unavailable` while loading / after a failed load. */
  ready(): Served {
    if (this.served) return this.served;
    if (this.failure) throw new HearthError('unavailable', `the model failed to load: ${this.failure.message}`);
    throw new HearthError('unavailable', 'the model is still loading; retry shortly');
  }

  /** The served model when `name` names it; not_found otherwise. */
  resolve(name: string): Served {
    const served = this.ready();
    if (!nameMatches(served.card, name)) {
      throw new HearthError('not_found', `model "${name}" is not served here; this server serves "${served.card.id}"`);
    }
    return served;
  }

  close(): void {
    this.served?.scheduler.close();
    this.served?.model.dispose();
  }
}

export function nameMatches(card: ModelCard, name: string): boolean {
  const bare = name.endsWith(':latest') ? name.slice(0, -':latest'.length) : name;
  return bare === card.id || bare === card.fileName;
}

export function modelCard(model: LoadedModel, alias?: string): ModelCard {
  const st = statSync(model.path);
  return {
    id: alias ?? model.name,
    fileName: model.name,
    path: model.path,
    arch: model.arch,
    paramCount: model.paramCount,
    nCtx: model.nCtx,
    nCtxTrain: model.hp.nCtxTrain,
    nEmbd: model.hp.nEmbd,
    nVocab: model.hp.nVocab,
    quantization: dominantType(model.path),
    fileSize: st.size,
    modifiedAt: st.mtime,
    chatTemplate: model.chatTemplate,
    digest: fileDigest(model.path, st.size),
    loadedAt: new Date(),
  };
}

/** The tensor type holding most of the weights' elements among matrices (what "Q4_K_M"-style names summarise). */
function dominantType(path: string): string {
  const f = openGGUF(path);
  try {
    const count = new Map<number, number>();
    for (const t of f.tensors) if (t.shape.length >= 2) count.set(t.type, (count.get(t.type) ?? 0) + t.nElements);
    const best = [...count].sort((a, b) => b[1] - a[1])[0];
    return best ? typeName(best[0]) : 'unknown';
  } finally {
    f.close();
  }
}

/** sha256 over the first MiB and the size: stable per file without reading gigabytes. */
function fileDigest(path: string, size: number): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(size, 1 << 20));
    readSync(fd, buf, 0, buf.length, 0);
    return createHash('sha256').update(buf).update(String(size)).digest('hex');
  } finally {
    closeSync(fd);
  }
}
