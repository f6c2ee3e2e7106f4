// The card clients see for a loaded GGUF model, and the names a request may use for a model (its id, its file
// name, and Ollama's "name:latest").

import { createHash } from 'node:crypto';
import { openSync, readSync, closeSync, statSync } from 'node:fs';
import { openGGUF, typeName } from '../gguf/index.ts';
import type { ModelInfo } from '../model/info.ts';
import type { ModelCard } from '../api/native.ts';

export function nameMatches(card: ModelCard, name: string): boolean {
  const bare = name.endsWith(':latest') ? name.slice(0, -':latest'.length) : name;
  return bare === card.id || (card.fileName !== undefined && bare === card.fileName);
}

export function modelCard(model: ModelInfo, alias?: string): ModelCard {
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
    // Chat works without a template too (a plain fallback); embeddings are mean-pooled hidden states.
    capabilities: { chat: true, completion: true, embeddings: true, tools: false, vision: false },
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
