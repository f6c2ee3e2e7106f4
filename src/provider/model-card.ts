// The card clients see for a loaded GGUF model, and the names a request may use for a model (its id, its file
// name, and Ollama's "name:latest").

import type { ModelInfo } from '../engine/model-info.ts';
import type { ModelCard } from '../api/native.ts';

export function nameMatches(card: ModelCard, name: string): boolean {
  const bare = name.endsWith(':latest') ? name.slice(0, -':latest'.length) : name;
  return bare === card.id || (card.fileName !== undefined && bare === card.fileName);
}

/** An encoder file (its {arch}.attention.causal is false): it embeds (or ranks) and does not generate. */
export function isEncoderInfo(model: ModelInfo): boolean {
  return model.metadata.getBool(`${model.arch}.attention.causal`, true) === false;
}

/** The card, from what the load pass gathered (model.file): the GGUF is not reopened. */
export function modelCard(model: ModelInfo, alias?: string): ModelCard {
  const encoder = isEncoderInfo(model);
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
    // Chat works without a template too (a plain fallback); embeddings pool the hidden states. An encoder
    // (attention.causal false: bert, nomic-bert) only embeds.
    capabilities: { chat: !encoder, completion: !encoder, embeddings: true, tools: false, vision: false },
  };
}
