// The public library API of Hearth: explicit named re-exports only.

// errors
export { HearthError, ERROR_CODES, isHearthError, type ErrorCode } from './util/errors.ts';

// GGUF files and tensor types
export {
  openGGUF, parseGGUF, GGUFFile, openGGUFModel, splitPartNames, writeGGUF, serializeGGUF, GGUFMetadata, ggufArray, GGUFValueType,
  GGMLType, TYPE_LAYOUTS, typeLayout, typeLayoutByName, typeName, rowBytes,
  type GGUFTensorInfo, type GGUFModelFile, type GGUFTensorInput, type GGUFWriteInput, type GGUFValue, type GGUFArrayValue,
  type GGMLTypeId, type GGMLTypeName, type TypeLayout,
} from './gguf/index.ts';

// quantization
export {
  quantizeTensor, dequantizeTensor, quantTraitsOrThrow, supportedQuantTypes, roundTripActivations, type QuantTraits,
} from './quant/index.ts';
export { quantizeModel, QUANTIZE_TARGETS, type QuantizeReport } from './quant/quantize-model.ts';
export { setTensorEncoder, type TensorEncoder } from './quant/index.ts';
export { useWasmWeightEncoder, createWasmWeightEncoder, type WasmWeightEncoderOptions } from './kernels/wasm/weight-encoder.ts';

// tokenizers
export {
  loadTokenizer, tokenizerFromGGUF, tokenizerFromHFJson, loadHFTokenizer, HFTokenizer, GGMLTokenizer, vocabFromGGUF,
  TokenType, TokenAttr,
  type Tokenizer, type EncodeOptions, type DecodeOptions, type StreamDecoder, type StreamDecoderOptions,
} from './tokenizer/index.ts';

// models and the engine
export { loadModel, type LoadedModel } from './engine/load.ts';
export { resolveModelPath, modelNameFromPath, modelsDir } from './model/resolve.ts';
export { supportedArchs } from './model/archs/index.ts';
export { Context, evalBatch } from './engine/context.ts';
export { generate } from './engine/generate.ts';
export { embed, EmbeddingJob } from './engine/embed.ts';
export { StopMatcher } from './engine/stop.ts';
export {
  createSampler, DEFAULT_SAMPLING, SAMPLER_STAGES, tokenLogprobs, type SamplingOptions, type Sampler, type SamplerStage,
} from './engine/sampler/index.ts';
export type { LoadOptions, GenerateRequest, GenerateEvent, FinishReason, Usage, Timings, BackendName } from './engine/types.ts';

// chat
export { renderChatTemplate, type ChatMessage } from './chat/template.ts';
export { chatPromptTokens, rawPromptTokens, renderChat } from './chat/prompt.ts';
export { CHATML_TEMPLATE, LLAMA2_TEMPLATE } from './chat/builtin.ts';
export { detectToolFamily, type ToolChoice, type ToolFamily, type ToolSpec } from './chat/tools.ts';
export {
  parseToolOutput, ToolCallStreamParser, type ParsedOutput, type ParsedToolCall, type ToolStreamEvent,
} from './chat/tool-parsers.ts';
export { toolChoiceGrammar, type ToolGrammarOptions } from './provider/tool-grammar.ts';

// server
export { createApp, DEFAULT_PORT, type AppDeps } from './server/app.ts';
export { createMcpServer, TOOL_SCOPES, type McpCaller, type McpToolDeps, type ToolCallRecord } from './server/mcp-server/tools.ts';
export { ModelManager, type Lease, type LoadedModelInfo, type ModelManagerOptions } from './provider/model-manager.ts';
export { LocalProvider, localProvider, type LocalProviderOptions, type LocalModelSource } from './provider/local-provider.ts';
export { EngineHost, RemoteModel, sharedEngine } from './engine/worker/engine-host.ts';
export { openModelInfo, type ModelInfo } from './engine/model-info.ts';
export type { Provider, Generation, Embeddings, EmbedOptions } from './provider/types.ts';
export { Scheduler, type SchedulerOptions, type JobSpec, type JobEvent } from './engine/scheduler.ts';
export type {
  NativeRequest, NativeEvent, ChoiceResult, ChoiceFinishReason, NativeToolCall, ModelCard, ModelCapabilities, PromptInput,
} from './api/native.ts';

// backends
export { createWebGPUBackend, isWebGPUBackend } from './kernels/webgpu/host.ts';

// state and security
export { openStore, type Store } from './store/store.ts';
export { databasePath } from './store/database.ts';
export { SCOPES, type Scope } from './store/keys.ts';
export { ResponseStore, type ResponseStoreOptions, type StoredResponse } from './store/responses.ts';
export { ConversationStore, type StoredConversation, type StoredItem, type StoredSummary, type SearchHit } from './store/conversations.ts';
export {
  KnowledgeBase, type KnowledgeBaseOptions, type StoredFile, type VectorStore, type StoreFile, type SearchOptions, type SearchMode,
  type SearchHit as KnowledgeSearchHit,
} from './knowledge/knowledge-base.ts';
export { ExactVectorIndex, SqliteVecIndex, loadSqliteVec } from './knowledge/vector-index.ts';
export type { Embedder, EmbedderSource, VectorIndex, VectorHit } from './knowledge/types.ts';
export { chunkText, type ChunkingOptions } from './knowledge/chunk.ts';
export { InProcessRateLimiter, rateHeaders, type RateLimiter } from './server/middleware/rate-limit.ts';

// the assistant's sandbox and risk assessment
export { bwrapSandbox, type BwrapOptions } from './sandbox/bwrap-sandbox.ts';
export { openSandbox } from './sandbox/open.ts';
export {
  DEFAULT_LIMITS, SANDBOX_LANGUAGES, type Sandbox, type SandboxLanguage, type SandboxLimits, type SandboxRequest, type SandboxResult,
  type SandboxTier, type LimitHit, type LimitName,
} from './sandbox/types.ts';
export { assess } from './assess/assess.ts';
export { RISK_LEVELS, type RiskLevel, type Finding, type FindingKind, type Assessment, type AssessLanguage } from './assess/types.ts';
export { decide, parsePolicy, DEFAULT_POLICY, type Policy, type Requirement, type Decision, type DecisionInput, type ReviewVerdict } from './assess/policy.ts';
// the assistant
export { runTask, newTaskId, type AgentDeps, type TaskOptions, type TaskOutcome, type ModelLeases } from './agent/agent.ts';
export { ApprovalBroker, DEFAULT_APPROVAL_TIMEOUT_MS, type ApprovalChannel, type ApprovalRequest, type HumanAnswer } from './agent/approvals.ts';
export { AgentService, readPolicySettings, policyFor, type PolicySettings } from './agent/service.ts';
export { discordApprovals, discordOptionsFromEnv, type DiscordOptions } from './agent/discord.ts';
export { review, parseReview, REVIEW_SCHEMA } from './agent/review.ts';
export { TOOL_SPECS, parseScript } from './agent/tools.ts';
export { TOOL_NAMES, type AgentEvent, type ToolName, type ScriptStep, type Review, type ActionView } from './agent/types.ts';
export { AgentStore } from './store/agent.ts';
