// A model loaded in this process behind the Provider seam: its card, its scheduler, and the native request →
// scheduler job conversion. Nothing outside reaches the LoadedModel except through this class.

import { HearthError } from '../util/errors.ts';
import { GGUFValueType, type GGUFMetadata } from '../gguf/index.ts';
import type { LoadedModel } from '../model/load.ts';
import { Scheduler, type SchedulerOptions, type SchedulerStats, type StepInfo } from '../engine/scheduler.ts';
import type { ModelCard, NativeRequest, PromptInput } from '../api/native.ts';
import { modelCard } from './model-card.ts';
import { promptTokens, startGeneration } from './local-generation.ts';
import { embedTokens } from './local-embedding.ts';
import type { EmbedOptions, Embeddings, Generation, Provider } from './types.ts';

export interface LocalProviderOptions {
  /** The name clients use instead of the file name. */
  alias?: string;
  scheduler: SchedulerOptions;
}

export function checkAlias(alias: string | undefined): void {
  if (alias !== undefined && !/^[\w.:\-/]{1,128}$/.test(alias)) {
    throw new HearthError('invalid_argument', `alias "${alias}" must be 1-128 letters, digits or . _ - : /`);
  }
}

export class LocalProvider implements Provider {
  readonly model: LoadedModel;
  readonly card: ModelCard;
  readonly scheduler: Scheduler;

  constructor(model: LoadedModel, options: LocalProviderOptions) {
    checkAlias(options.alias);
    this.model = model;
    this.card = modelCard(model, options.alias);
    this.scheduler = new Scheduler(model, options.scheduler);
  }

  get loadMs(): number {
    return this.model.loadMs;
  }

  get onStep(): ((info: StepInfo) => void) | undefined {
    return this.scheduler.onStep;
  }

  set onStep(cb: ((info: StepInfo) => void) | undefined) {
    this.scheduler.onStep = cb;
  }

  async generate(request: NativeRequest, signal?: AbortSignal): Promise<Generation> {
    return startGeneration(this.model, this.scheduler, request, signal);
  }

  embed(inputs: PromptInput[], options: EmbedOptions, signal?: AbortSignal): Promise<Embeddings> {
    return embedTokens(this.model, inputs.map((p) => promptTokens(this.model, p)), { truncate: options.truncate, signal });
  }

  tokenize(input: PromptInput): number[] {
    return promptTokens(this.model, input);
  }

  async countTokens(input: PromptInput): Promise<number> {
    return this.tokenize(input).length;
  }

  metadata(): Record<string, unknown> {
    return plainMetadata(this.model.metadata);
  }

  stats(): SchedulerStats {
    return this.scheduler.stats;
  }

  close(): void {
    this.scheduler.close();
    this.model.dispose();
  }
}

/**
 * Loads a model into a LocalProvider. The options are checked now, so that a bad alias fails before anything
 * is loaded; `load` may be synchronous (loadModel) or a promise.
 */
export function localProvider(load: () => LoadedModel | Promise<LoadedModel>, options: LocalProviderOptions): () => Promise<LocalProvider> {
  checkAlias(options.alias);
  return async () => new LocalProvider(await load(), options);
}

/** GGUF metadata as plain values: scalars and short arrays (vocabularies and the chat template are left out). */
function plainMetadata(md: GGUFMetadata): Record<string, unknown> {
  const plain = (v: unknown) => (typeof v === 'bigint' ? Number(v) : v);
  const out: Record<string, unknown> = {};
  for (const [k, v] of md) {
    if (k === 'tokenizer.chat_template') continue;
    if (v.type !== GGUFValueType.ARRAY) out[k] = plain(v.value);
    else if (v.value.length <= 64 && v.itemType !== GGUFValueType.ARRAY) out[k] = Array.from(v.value as ArrayLike<unknown>, plain);
  }
  return out;
}
