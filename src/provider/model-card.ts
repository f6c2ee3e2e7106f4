// The card clients see for a loaded GGUF model, and the names a request may use for a model (its id, its file
// name, and Ollama's "name:latest").

import type { ModelInfo, ModelPurpose } from '../engine/model-info.ts';
import type { Capability, ModelCapabilities, ModelCard } from '../api/native.ts';
import { detectToolFamily } from '../chat/tools.ts';

export interface CapabilityFacts {
  capabilities: ModelCapabilities;
  /** Why each missing capability is missing. */
  missing: Partial<Record<Capability, string>>;
}

/**
 * What a model can do, from what its file says it is for (as Ollama reports a model with a pooling type as an
 * embedding model and llama-server ranks only with pooling rank):
 *   - generation (chat, completion): a decoder whose file writes no pooling type;
 *   - embeddings: any pooling but none and rank (a decoder without one is mean-pooled);
 *   - rerank: pooling rank and a classification head;
 *   - thinking: the chat template reads `enable_thinking`;
 *   - tools: the chat template teaches a tool-call syntax (a tool family other than the generic JSON
 *     convention, which any chat model is given when a request sends tools).
 */
export function modelCapabilities(arch: string, purpose: ModelPurpose, chatTemplate: string | undefined): CapabilityFacts {
  const { pooling, encoder, classifier } = purpose;
  const missing: Partial<Record<Capability, string>> = {};
  const kind = pooling === 'rank' ? 'a reranker' : 'an embedding model';
  const generates = !encoder && pooling === undefined;
  if (!generates) {
    const why = encoder
      ? `${arch} is an encoder (bidirectional attention, no language-model head): it gives ${pooling === 'rank' ? 'relevance scores' : 'embeddings'}, not text`
      : `the model file marks it as ${kind} (${arch}.pooling_type ${pooling}): it is not meant to generate text`;
    missing.chat = why;
    missing.completion = why;
  }
  const embeds = pooling !== 'none' && pooling !== 'rank';
  if (pooling === 'none') missing.embeddings = `its pooling type is none (${arch}.pooling_type 0): it gives one vector per token, no embedding per input`;
  if (pooling === 'rank') missing.embeddings = `it is a reranker (${arch}.pooling_type rank): it scores query-document pairs through /v1/rerank and gives no embeddings`;
  const ranks = pooling === 'rank' && classifier;
  if (!ranks) {
    missing.rerank = pooling === 'rank'
      ? 'its pooling type is rank but it has no classification head (cls / cls.output tensors)'
      : `it is not a reranker (a reranker has ${arch}.pooling_type rank and a classification head; this model's pooling is ${pooling ?? 'not set: a decoder'})`;
  }
  const thinking = generates && chatTemplate !== undefined && chatTemplate.includes('enable_thinking');
  if (!thinking) missing.thinking = generates ? 'its chat template has no thinking switch (enable_thinking)' : missing.chat!;
  const tools = generates && detectToolFamily(chatTemplate) !== 'generic';
  if (!tools) missing.tools = generates ? 'its chat template teaches no tool-call syntax (tools sent to it get a generic JSON convention)' : missing.chat!;
  return {
    capabilities: { chat: generates, completion: generates, embeddings: embeds, rerank: ranks, thinking, tools, vision: false },
    missing,
  };
}

export function nameMatches(card: ModelCard, name: string): boolean {
  const bare = name.endsWith(':latest') ? name.slice(0, -':latest'.length) : name;
  return bare === card.id || (card.fileName !== undefined && bare === card.fileName);
}

/** An encoder file (its {arch}.attention.causal is false, or an encoder architecture): it embeds (or ranks) and does not generate. */
export function isEncoderInfo(model: ModelInfo): boolean {
  return model.purpose.encoder;
}

/** The card, from what the load pass gathered (model.file): the GGUF is not reopened. */
export function modelCard(model: ModelInfo, alias?: string): ModelCard {
  const facts = modelCapabilities(model.arch, model.purpose, model.chatTemplate);
  // images need a vision encoder loaded beside the model (an mmproj)
  const vision = !!model.options.mmproj && facts.capabilities.chat;
  const capabilities = { ...facts.capabilities, vision };
  const missing = vision ? facts.missing : { ...facts.missing, vision: 'it was loaded without a vision encoder (an mmproj: --mmproj FILE)' };
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
    quantization: model.file.quantization,
    fileSize: model.file.size,
    modifiedAt: model.file.modifiedAt,
    chatTemplate: model.chatTemplate,
    digest: model.file.digest,
    loadedAt: new Date(),
    // Chat works without a template too (a plain fallback); a decoder's embeddings are mean-pooled hidden states.
    capabilities,
    missing,
  };
}
