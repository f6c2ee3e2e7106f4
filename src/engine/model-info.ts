// What a model file says about the model, without its weights: architecture, hyper-parameters, tokenizer, chat
// template, context size. loadModel starts from it; a thread that only tokenizes and renders prompts (the HTTP
// thread, while the engine runs elsewhere) needs nothing more.

import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { openGGUFModel, parseSplitName, type GGUFModelFile } from '../gguf/split.ts';
import { typeName } from '../gguf/ggml-types.ts';
import type { GGUFMetadata } from '../gguf/metadata.ts';
import { HearthError } from '../util/errors.ts';
import { tokenizerFromGGUF, loadTokenizer } from '../tokenizer/index.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import type { LoadOptions } from './types.ts';
import { architecture, supportedArchs, type Architecture } from '../model/archs/index.ts';
import type { DecoderHParams } from '../model/types.ts';
import { POOLING_BY_ID, type Pooling } from '../model/archs/types.ts';
import { modelNameFromPath } from '../model/resolve.ts';

/** Default context cap when the caller does not choose one (Ollama's default window). */
export const DEFAULT_MAX_CTX = 4096;

export interface ModelInfo {
  readonly path: string;
  readonly name: string;
  readonly arch: string;
  readonly hp: DecoderHParams;
  readonly metadata: GGUFMetadata;
  readonly tokenizer: Tokenizer;
  readonly chatTemplate: string | undefined;
  readonly nCtx: number;
  readonly options: LoadOptions;
  /** Total parameters (elements of every tensor). */
  readonly paramCount: number;
  /** Facts about the file from its header and size (the model card needs them; nothing reopens the file). */
  readonly file: ModelFileFacts;
  /** What the model is built for: generating, embedding or ranking (the card's capabilities follow from it). */
  readonly purpose: ModelPurpose;
}

/**
 * What the file says a model is for, as llama.cpp reads it: `{arch}.pooling_type` (written by converters of
 * embedding and reranking models only), `{arch}.attention.causal` (false for encoders such as BERT, which have
 * no language-model head), and a classification head (`cls` / `cls.output` tensors, a reranker's).
 */
export interface ModelPurpose {
  /** undefined when the file does not say (a decoder: Hearth mean-pools its hidden states). */
  readonly pooling: Pooling | undefined;
  /** Bidirectional attention and no head over the vocabulary: it embeds or ranks, never generates. */
  readonly encoder: boolean;
  readonly classifier: boolean;
}

/** Architectures that are encoders whether or not the file writes attention.causal. */
const ENCODER_ARCHS: ReadonlySet<string> = new Set(['bert', 'nomic-bert', 'nomic-bert-moe', 'jina-bert-v2', 'jina-bert-v3', 'neo-bert', 'modern-bert', 't5encoder']);

export function modelPurpose(file: Pick<GGUFModelFile, 'metadata' | 'findTensor'>, arch: string): ModelPurpose {
  const md = file.metadata;
  const id = md.getNumber(`${arch}.pooling_type`, undefined);
  const pooling = id === undefined ? undefined : POOLING_BY_ID[id];
  if (id !== undefined && pooling === undefined) {
    throw new HearthError('model_invalid', `${md.source}: ${arch}.pooling_type ${id} is not one of ${POOLING_BY_ID.map((p, i) => `${i} (${p})`).join(', ')}`);
  }
  const causal = md.getBool(`${arch}.attention.causal`, true);
  return {
    pooling,
    encoder: !causal || ENCODER_ARCHS.has(arch),
    classifier: file.findTensor('cls.weight') !== undefined || file.findTensor('cls.output.weight') !== undefined,
  };
}

export interface ModelFileFacts {
  /** Bytes of the GGUF file (of every part of a split one), and when it (its newest part) was last modified. */
  readonly size: number;
  readonly modifiedAt: Date;
  /** The tensor type holding most of the matrices' elements (what "Q4_K_M"-style names summarise). */
  readonly quantization: string;
  /** sha256 over the first MiB and the size (a split model: the first part's first MiB and the total size): stable per file without reading gigabytes. */
  readonly digest: string;
  /** Bytes of tensor data in the file (in every part). */
  readonly tensorBytes: number;
}

/** The tensor type holding most of the matrices' elements ("Q4_K", "Q8_0", "F16"). */
export function dominantType(f: Pick<GGUFModelFile, 'tensors'>): string {
  const count = new Map<number, number>();
  for (const t of f.tensors) if (t.shape.length >= 2) count.set(t.type, (count.get(t.type) ?? 0) + t.nElements);
  const best = [...count].sort((a, b) => b[1] - a[1])[0];
  return best ? typeName(best[0]) : 'unknown';
}

/** The file's name without .gguf; a split model's without its -00001-of-0000N part suffix too (the library's name). */
function modelName(path: string): string {
  return parseSplitName(basename(path))?.prefix ?? modelNameFromPath(path);
}

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

function fileFacts(file: GGUFModelFile): ModelFileFacts {
  const stats = file.parts.map((p) => statSync(p.name));
  const size = stats.reduce((s, st) => s + st.size, 0);
  return {
    size,
    modifiedAt: new Date(Math.max(...stats.map((st) => st.mtimeMs))),
    quantization: dominantType(file),
    digest: fileDigest(file.name, size),
    tensorBytes: file.tensors.reduce((s, t) => s + t.byteSize, 0),
  };
}


/** The model's facts from its open GGUF file (every part, when split), checked (architecture supported, hyper-parameters sane). */
export function readModelInfo(file: GGUFModelFile, path: string, opts: LoadOptions = {}): ModelInfo & { architecture: Architecture } {
  const md = file.metadata;
  const arch = md.getString('general.architecture');
  const module = architecture(arch);
  if (!module) {
    throw new HearthError('unsupported_architecture',
      `${path}: architecture "${arch}" is not supported (supported: ${supportedArchs().join(', ')})`);
  }
  const tokenizer = opts.tokenizerPath ? loadTokenizer(opts.tokenizerPath) : tokenizerFromGGUF(md);
  const embd = file.findTensor('token_embd.weight');
  const nVocab = embd?.shape[1] ?? tokenizer.vocabSize;
  const hp = module.readHParams(md, nVocab);
  const nCtx = opts.nCtx ?? Math.min(hp.nCtxTrain, DEFAULT_MAX_CTX);
  if (!Number.isInteger(nCtx) || nCtx < 1) throw new HearthError('invalid_argument', `context size must be a positive integer, got ${opts.nCtx}`);
  return {
    path,
    name: modelName(path),
    arch,
    architecture: module,
    hp,
    metadata: md,
    tokenizer,
    chatTemplate: md.getString('tokenizer.chat_template', undefined),
    nCtx,
    options: opts,
    paramCount: file.tensors.reduce((s, t) => s + t.nElements, 0),
    file: fileFacts(file),
    purpose: modelPurpose(file, arch),
  };
}

/** readModelInfo on a file (every part of a split one) opened and closed here (the tensor data is never read). */
export function openModelInfo(path: string, opts: LoadOptions = {}): ModelInfo {
  const file = openGGUFModel(path);
  try {
    const { architecture: _, ...info } = readModelInfo(file, path, opts);
    return info;
  } finally {
    file.close();
  }
}
