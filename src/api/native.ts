// The one native request every dialect converts into, and what the native handler gives back. Camel case
// and engine vocabulary only: wire names stay in the dialect folders.

import type { ChatMessage } from '../chat/template.ts';
import type { ImageInput } from '../chat/media.ts';
import type { ToolChoice, ToolSpec } from '../chat/tools.ts';
import type { SamplingOptions } from '../engine/sampler/index.ts';
import type { FinishReason } from '../engine/types.ts';

/** What to generate from: messages through the chat template, plain text, or token ids. */
export type PromptInput =
  /** `templateVars`: extra chat-template variables (chat_template_kwargs; Ollama's think as enable_thinking). */
  /** `tools`/`toolChoice`: functions the model may call and which calls are allowed (default 'auto'). */
  /** `parallelToolCalls: false`: at most one call where the call grammar can say so (a forced call). */
  /**
   * `splitReasoning`: read a `<think>` block apart from content (as `reasoning`) where the template has one,
   * with or without tools (with tools it always is).
   */
  | {
    kind: 'chat'; messages: ChatMessage[]; templateVars?: Record<string, unknown>; tools?: ToolSpec[]; toolChoice?: ToolChoice;
    parallelToolCalls?: boolean; splitReasoning?: boolean;
  }
  /** Plain text tokenized as it is (BOS as the vocabulary says); `context` ids go before it (Ollama). */
  | { kind: 'text'; text: string; context?: number[]; images?: ImageInput[] }
  | { kind: 'tokens'; tokens: number[] }
  /**
   * Fill in the middle: the model's FIM tokens around the code before and after the cursor (engine/infill.ts);
   * `extra` files go first as context, `prompt` follows the prefix. A model without FIM tokens refuses it.
   */
  | { kind: 'infill'; prefix: string; suffix: string; extra?: { filename?: string; text: string }[]; prompt?: string };

export interface NativeRequest {
  /** The model the client named. */
  model: string;
  /** One or more prompts (OpenAI completions accepts a list); each gets `n` choices. */
  prompts: PromptInput[];
  /** Choices per prompt. */
  n: number;
  /** Most tokens to generate per choice; undefined = until end of generation or the context is full. */
  maxTokens?: number;
  /**
   * The wire field maxTokens came from, when the client sent it and its dialect refuses a limit the context cannot
   * hold (OpenAI's max_tokens, Anthropic's): prompt + maxTokens beyond the context is then a 400 naming it, before
   * anything is queued. Undefined: generation stops where the context ends (Ollama's num_predict).
   */
  maxTokensParam?: string;
  sampling: SamplingOptions;
  stop: string[];
  /** Report each token's log-probability and this many alternatives; undefined = none. */
  logprobs?: number;
  /** Prepend the prompt text to each choice's text (OpenAI completions `echo`). */
  echo?: boolean;
  /** Context window for this request, at most the server's (Ollama `num_ctx`). */
  numCtx?: number;
  stream: boolean;
  /**
   * The structured output the client asked for, as it asked (the grammar in `sampling` is what the engine runs): kept
   * so that an upstream provider can be asked for the same schema in its own dialect.
   */
  format?: NativeFormat;
  /**
   * How long the model stays loaded once this request ends, in ms (Ollama `keep_alive`): negative = forever,
   * 0 = unload at once; undefined = the server's default.
   */
  keepAliveMs?: number;
  /**
   * MCP servers of the configuration whose tools the model may call, run by Hearth's tool loop (the Responses API's
   * `mcp` tools, `hearth_mcp` in the other dialects): labels only; what a server is comes from the config file.
   */
  mcp?: McpRequestUse[];
}

/** A configured MCP server a request names, and the tools of it the request allows (all when undefined). */
export interface McpRequestUse {
  label: string;
  allowedTools?: string[];
}

/** Structured output: any JSON object, or one matching a schema. */
export type NativeFormat = { type: 'json_object' } | { type: 'json_schema'; schema: unknown; name?: string };

export interface TokenInfo {
  id: number;
  /** The token's text as it appears in output. */
  piece: string;
  /** Present when the request asked for log-probabilities. */
  logprob?: number;
  top?: { id: number; piece: string; logprob: number }[];
}

export interface NativeUsage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens whose cache was reused from an earlier request. */
  cachedTokens: number;
  /** The counts are estimates (an upstream provider that reported none). */
  estimated?: boolean;
}

export interface NativeTimings {
  /** Milliseconds waiting for a slot, evaluating the prompt, generating, in all, and to the first token. */
  queueMs: number;
  promptMs: number;
  generateMs: number;
  totalMs: number;
  firstTokenMs: number | undefined;
  /** Time the model took to load (reported by Ollama's `load_duration`). */
  loadMs: number;
  /** Milliseconds between consecutive generated tokens, as they reached the serving thread (metrics). */
  tokenGapsMs?: number[];
}

/** A call the model made; `arguments` is JSON text. */
export interface NativeToolCall {
  /** `call_<random>`, or the id the model wrote (Mistral). */
  id: string;
  name: string;
  arguments: string;
}

/** Why a choice ended: the engine's reasons, or 'tool_calls' where the reply made calls (and was not cut short). */
export type ChoiceFinishReason = FinishReason | 'tool_calls';

/** One finished choice. */
export interface ChoiceResult {
  index: number;
  /** Which prompt this choice answers. */
  promptIndex: number;
  /** The generated text; with tools, its content only (calls and reasoning apart, below). */
  text: string;
  /** Calls read out of the reply, when the prompt had tools. */
  toolCalls?: NativeToolCall[];
  /** The reasoning block, read apart from content when the prompt had tools or asked for it (splitReasoning). */
  reasoning?: string;
  /** Generated token ids (the stop string's tokens included, as in the KV cache). */
  tokens: number[];
  logprobs?: TokenInfo[];
  reason: ChoiceFinishReason;
  /** The stop string that ended generation, when one did. */
  stopSequence: string | null;
  usage: NativeUsage;
  timings: NativeTimings;
  /** The prompt's token ids (Ollama returns prompt + generated tokens as `context`). */
  promptTokens: number[];
}

export type NativeEvent =
  /** New text for one choice; `tokens` are the ids that produced it (with log-probabilities when asked). */
  | { type: 'delta'; index: number; text: string; tokens: TokenInfo[] }
  /** Reasoning text, read apart from content (when the prompt had tools or asked for it). */
  | { type: 'reasoning'; index: number; text: string }
  /**
   * A piece of call `call` (counted from 0 in the choice) as it is written: the first piece of a call carries
   * its id and name, the rest more argument text. A call's pieces add up to its 'tool_call' event.
   */
  | { type: 'tool_call_delta'; index: number; call: number; id?: string; name?: string; arguments: string }
  /** A whole call, sent once the model has written all of it (after its pieces). */
  | { type: 'tool_call'; index: number; call: number; id: string; name: string; arguments: string }
  | { type: 'done'; index: number; result: ChoiceResult };

/** What a model can be asked to do. */
export interface ModelCapabilities {
  chat: boolean;
  completion: boolean;
  embeddings: boolean;
  /** Scores query-document pairs (a reranker: pooling rank with a classification head). */
  rerank: boolean;
  /** The chat template has a thinking switch (`enable_thinking`, as Qwen3's). */
  thinking: boolean;
  tools: boolean;
  vision: boolean;
}

export type Capability = keyof ModelCapabilities;

/**
 * The capabilities as Ollama's /api/show lists them ("completion" covers chat; "rerank" is Hearth's, for a
 * model that answers /v1/rerank), in that order.
 */
export function capabilityNames(c: ModelCapabilities): string[] {
  const names: [boolean, string][] = [
    [c.completion || c.chat, 'completion'], [c.embeddings, 'embedding'], [c.rerank, 'rerank'], [c.thinking, 'thinking'],
    [c.tools, 'tools'], [c.vision, 'vision'],
  ];
  return names.filter(([on]) => on).map(([, name]) => name);
}

/** Facts about the served model that converters put on the wire. */
/**
 * What clients are told about a model. Only the name, context, capabilities and load time are always known;
 * the file facts are there for models loaded here and may be missing for an upstream provider's.
 */
export interface ModelCard {
  /** The name clients use (the alias when one was given). */
  id: string;
  /** File name without .gguf. */
  fileName?: string;
  path?: string;
  arch?: string;
  paramCount?: number;
  nCtx: number;
  nCtxTrain?: number;
  nEmbd?: number;
  nVocab?: number;
  /** Quantization type of most weights, e.g. "Q8_0" or "F32". */
  quantization?: string;
  fileSize?: number;
  modifiedAt?: Date;
  chatTemplate: string | undefined;
  /** sha256 of the file's first MiB and size: a cheap stable id (Ollama `digest`). */
  digest?: string;
  loadedAt: Date;
  capabilities: ModelCapabilities;
  /** Why a capability is missing, where the provider knows (a person reads it in the 400 that refuses the request). */
  missing?: Partial<Record<Capability, string>>;
}

/** Finish reason as OpenAI and Ollama spell it: end of generation and stop strings are both "stop". */
export function stopOrLength(reason: ChoiceFinishReason): 'stop' | 'length' {
  return reason === 'length' ? 'length' : 'stop';
}
