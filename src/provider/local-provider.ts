// A model loaded in this process behind the Provider seam: its facts (tokenizer, template, card) on the calling
// thread, its weights and scheduler in the engine thread (engine/worker/), so that requests are parsed, prompts
// rendered and events streamed here while every forward pass runs elsewhere. Nothing outside reaches the model
// except through this class.

import { HearthError } from '../util/errors.ts';
import { GGUFValueType, type GGUFMetadata } from '../gguf/index.ts';
import { openModelInfo, type ModelInfo } from '../engine/model-info.ts';
import { encoderInput } from '../engine/embed.ts';
import { rerankInput } from '../engine/rerank.ts';
import type { LoadOptions } from '../engine/types.ts';
import type { KvCacheUse, SchedulerOptions, SchedulerStats, StepInfo } from '../engine/scheduler.ts';
import { sharedEngine, type EngineHost, type RemoteModel } from '../engine/worker/engine-host.ts';
import type { ModelCard, NativeRequest, PromptInput } from '../api/native.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { isEncoderInfo, modelCard } from './model-card.ts';
import { chatPromptText, promptTokens, startGeneration } from './local-generation.ts';
import { promptImages, VisionPrompt } from './vision-prompt.ts';
import type { ImageInput } from '../chat/media.ts';
import type { ImageFetcher } from './image-fetch.ts';
import type { EmbedOptions, Embeddings, Generation, Provider, RerankResult } from './types.ts';
import type { LibraryModel } from '../library/types.ts';
import { mmprojBeside } from '../library/mmproj.ts';
import { withPreset } from './preset-provider.ts';

export interface LocalProviderOptions {
  /** The name clients use instead of the file name. */
  alias?: string;
  scheduler: SchedulerOptions;
  /** The engine thread to load into (default: the process's one). */
  engine?: EngineHost;
  /** Fetches the http(s) image URLs of requests (serve --allow-image-urls); without it they are refused. */
  fetchImage?: ImageFetcher;
}

/** Which file to load, and how. */
export interface LocalModelSource {
  path: string;
  load?: LoadOptions;
}

export function checkAlias(alias: string | undefined): void {
  if (alias !== undefined && !/^[\w.:\-/]{1,128}$/.test(alias)) {
    throw new HearthError('invalid_argument', `alias "${alias}" must be 1-128 letters, digits or . _ - : /`);
  }
}

export class LocalProvider implements Provider {
  readonly info: ModelInfo;
  readonly card: ModelCard;
  private readonly remote: RemoteModel;
  /** The vision encoder's facts, read from the mmproj's header on first use. */
  private vision: VisionPrompt | undefined;
  /** Fetches image URLs where the server allows them. */
  fetchImage: ImageFetcher | undefined;

  constructor(info: ModelInfo, remote: RemoteModel, alias?: string) {
    checkAlias(alias);
    this.info = info;
    this.remote = remote;
    this.card = modelCard(info, alias);
  }

  get loadMs(): number {
    return this.remote.loadMs;
  }

  get onStep(): ((info: StepInfo) => void) | undefined {
    return this.remote.onStep;
  }

  set onStep(cb: ((info: StepInfo) => void) | undefined) {
    this.remote.onStep = cb;
  }

  generate(request: NativeRequest, signal?: AbortSignal): Promise<Generation> {
    if (isEncoderInfo(this.info)) {
      return Promise.reject(new HearthError('invalid_argument',
        `${this.card.id} is an encoder (${this.info.arch}): it gives embeddings${this.info.metadata.getNumber(`${this.info.arch}.pooling_type`, -1) === 4 ? ' and rerank scores' : ''}, not text`));
    }
    const images = request.prompts.map(promptImages);
    if (images.every((list) => list.length === 0)) {
      return startGeneration(this.info, this.remote.loadMs, (specs, onEvent) => this.remote.submit(specs, onEvent), request, signal);
    }
    return this.generateWithImages(request, images, signal);
  }

  private async generateWithImages(request: NativeRequest, images: ImageInput[][], signal?: AbortSignal): Promise<Generation> {
    if (!this.card.capabilities.vision) {
      throw new HearthError('invalid_argument', `model "${this.card.id}" cannot read images: ${this.card.missing?.vision ?? 'it has no vision encoder'}`);
    }
    this.vision ??= VisionPrompt.open(this.info.options.mmproj!, this.info.hp.nEmbd);
    const vision = this.vision;
    const pixels = await Promise.all(images.map((list) => vision.pixels(list, { fetch: this.fetchImage })));
    return startGeneration(this.info, this.remote.loadMs, (specs, onEvent) => this.remote.submit(specs, onEvent), request, signal, { vision, pixels });
  }

  async embed(inputs: PromptInput[], options: EmbedOptions, signal?: AbortSignal): Promise<Embeddings> {
    const nCtx = this.info.nCtx;
    // an encoder's inputs in [CLS] ... [SEP] (ids given bare get them here, so counts and truncation see them)
    const frame = isEncoderInfo(this.info) ? (t: number[]) => encoderInput(this.info.tokenizer, t) : (t: number[]) => t;
    const ids = inputs.map((p, i) => {
      const t = frame(promptTokens(this.info, p));
      if (t.length <= nCtx) return t;
      if (!options.truncate) {
        throw new HearthError('context_length_exceeded', `input ${inputs.length > 1 ? `${i} ` : ''}is ${t.length} tokens; the context holds ${nCtx}`);
      }
      const cut = frame(t.slice(0, nCtx - 1));
      return cut.length <= nCtx ? cut : t.slice(0, nCtx);
    });
    const vectors = await this.remote.embed(ids, signal);
    return { vectors, tokens: ids.reduce((s, t) => s + t.length, 0) };
  }

  /**
   * Each document scored against the query by the model's classification head (llama-server's rerank input,
   * engine/rerank.ts), all documents queued together so they run as batched passes. A model without a head
   * rejects with invalid_argument.
   */
  async rerank(query: string, documents: string[], signal?: AbortSignal): Promise<RerankResult> {
    if (documents.length === 0) return { scores: [], tokens: 0 };
    const nCtx = this.info.nCtx;
    const ids = documents.map((d, i) => {
      const t = rerankInput(this.info, query, d);
      if (t.length > nCtx) {
        throw new HearthError('context_length_exceeded', `the query with document ${i} is ${t.length} tokens; the context holds ${nCtx}`);
      }
      return t;
    });
    const vectors = await this.remote.embed(ids, signal, 'rank');
    return { scores: vectors.map((v) => v[0]), tokens: ids.reduce((s, t) => s + t.length, 0) };
  }

  tokenize(input: PromptInput): number[] {
    return promptTokens(this.info, input);
  }

  async countTokens(input: PromptInput): Promise<number> {
    return this.tokenize(input).length;
  }

  get tokenizer(): Tokenizer {
    return this.info.tokenizer;
  }

  chatPromptText(input: PromptInput & { kind: 'chat' }): string {
    return chatPromptText(this.info, input).text;
  }

  metadata(): Record<string, unknown> {
    return plainMetadata(this.info.metadata);
  }

  stats(): SchedulerStats {
    return this.remote.stats;
  }

  kvCache(): KvCacheUse {
    return this.remote.kv;
  }

  close(): Promise<void> {
    return this.remote.unload().catch(() => {});
  }
}

/**
 * Loads a model into a LocalProvider: its facts here, its weights in the engine thread. The options are
 * checked now, so that a bad alias fails before anything is loaded; `source` may be a promise (a file still
 * being fetched).
 */
export function localProvider(source: LocalModelSource | (() => LocalModelSource | Promise<LocalModelSource>),
  options: LocalProviderOptions): () => Promise<LocalProvider> {
  checkAlias(options.alias);
  return async () => {
    const { path, load = {} } = typeof source === 'function' ? await source() : source;
    const info = openModelInfo(path, load);
    const remote = await (options.engine ?? sharedEngine()).load(path, load, options.scheduler);
    const provider = new LocalProvider(info, remote, options.alias);
    provider.fetchImage = options.fetchImage;
    return provider;
  };
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

/**
 * How a server loads its models: each library model (or file given to serve) as a LocalProvider named by its
 * library name, with one load and scheduler configuration for all, and its preset's defaults applied.
 */
export function localModelLoader(o: { load?: LoadOptions; scheduler: SchedulerOptions; engine?: EngineHost; fetchImage?: ImageFetcher }):
  (model: LibraryModel) => Promise<Provider> {
  return async (model) => {
    // a vision encoder beside the model (NAME.mmproj.gguf, as pull writes it) unless one was named
    const mmproj = o.load?.mmproj ?? mmprojBeside(model.path);
    const load = mmproj ? { ...o.load, mmproj } : o.load;
    const provider = await localProvider({ path: model.path, load }, { alias: model.name, scheduler: o.scheduler, engine: o.engine, fetchImage: o.fetchImage })();
    return model.preset ? withPreset(provider, model.preset) : provider;
  };
}
