// The seam between the server and a model: a Provider answers native requests for one model, whether the model
// runs here (LocalProvider) or behind an upstream API. Token-level facts are optional so that an upstream that
// only speaks text can implement it.

import type { ChoiceResult, ModelCard, NativeEvent, NativeRequest, PromptInput } from '../api/native.ts';
import type { KvCacheUse, SchedulerStats, StepInfo } from '../engine/scheduler.ts';
import type { Tokenizer } from '../tokenizer/types.ts';

/** A request being generated. */
export interface Generation {
  /** Prompt length in tokens, one per prompt (0 where the provider cannot count). */
  readonly promptTokens: number[];
  /** The merged events of every choice; read once. Breaking out of the loop cancels the generation. */
  readonly events: AsyncIterable<NativeEvent>;
  /** Reads every event and returns the finished choices in index order. */
  collect(): Promise<ChoiceResult[]>;
  /** The upstream provider and model that answer, where a gateway route chose one (for the audit and metrics). */
  readonly origin?: { provider: string; model: string };
}

export interface EmbedOptions {
  /** Cut inputs longer than the context instead of failing. */
  truncate: boolean;
}

export interface Embeddings {
  vectors: Float32Array[];
  /** Input tokens embedded, in all. */
  tokens: number;
}

/** A reranker's answer: one raw score per document (the classifier's logit, higher is more relevant). */
export interface RerankResult {
  scores: number[];
  /** Tokens evaluated, over every query + document input. */
  tokens: number;
}

export interface Provider {
  readonly card: ModelCard;
  /**
   * Checks and queues a request. Every error a client can cause (field values, prompt too long, queue full)
   * rejects the promise, before any event; later failures end the event stream with the error.
   */
  generate(request: NativeRequest, signal?: AbortSignal): Promise<Generation>;
  /** One vector per input, in order. */
  embed(inputs: PromptInput[], options: EmbedOptions, signal?: AbortSignal): Promise<Embeddings>;
  /**
   * Scores each document against the query, in order, where the provider can rerank (a local model with a
   * classification head, pooling rank); a model without one rejects with a HearthError saying so.
   */
  rerank?(query: string, documents: string[], signal?: AbortSignal): Promise<RerankResult>;
  /** The prompt token ids the model would see, where the provider knows them. */
  tokenize?(input: PromptInput): number[];
  countTokens(input: PromptInput): Promise<number>;
  /** The model's vocabulary, where the provider holds it here (llama-server's /tokenize and /detokenize). */
  readonly tokenizer?: Tokenizer;
  /** The text a chat prompt is rendered to before it is tokenized, where the provider renders it (/apply-template). */
  chatPromptText?(input: PromptInput & { kind: 'chat' }): string;
  /** The model's metadata as plain values (scalars and short arrays), where it has any. */
  metadata?(): Record<string, unknown>;
  /** Slots and queue, where the provider schedules locally. */
  stats?(): SchedulerStats;
  /** The KV caches' tokens held and capacity, where the provider schedules locally. */
  kvCache?(): KvCacheUse;
  /** Called after every scheduler step (metrics), where the provider schedules locally. */
  onStep?: ((info: StepInfo) => void) | undefined;
  /** Milliseconds the model took to load, where it was loaded here. */
  readonly loadMs?: number;
  /** Fails what is queued or running and frees the model (settles once it is freed, where that takes time). */
  close(): void | Promise<void>;
}
