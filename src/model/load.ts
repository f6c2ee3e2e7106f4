// Loads a GGUF model: metadata -> architecture -> hyper-parameters -> weights -> tokenizer -> forward pass.

import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { openGGUF, type GGUFFile } from '../gguf/reader.ts';
import type { GGUFMetadata } from '../gguf/metadata.ts';
import { typeName, type GGMLTypeId } from '../gguf/ggml-types.ts';
import { HearthError } from '../util/errors.ts';
import { createRefBackend } from '../kernels/ref/backend.ts';
import { createCpuBackend } from '../kernels/wasm/backend.ts';
import type { Backend, MemoryReport } from '../kernels/backend.ts';
import { createWebGPUBackend } from '../kernels/webgpu/host.ts';
import { tokenizerFromGGUF, loadTokenizer } from '../tokenizer/index.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import type { LoadOptions } from '../engine/types.ts';
import { archSpec, supportedArchs } from './archs/index.ts';
import { DecoderForward, loadDecoderWeights } from './archs/llama-family.ts';
import { readDecoderHParams, type DecoderHParams } from './hparams.ts';
import { KVCache } from './kv-cache.ts';
import { modelNameFromPath } from './resolve.ts';
import type { TensorSource } from './weights.ts';

/** Default context cap when the caller does not choose one (Ollama's default window). */
export const DEFAULT_MAX_CTX = 4096;

export interface LoadedModel {
  readonly path: string;
  readonly name: string;
  readonly arch: string;
  readonly hp: DecoderHParams;
  readonly metadata: GGUFMetadata;
  readonly tokenizer: Tokenizer;
  readonly chatTemplate: string | undefined;
  readonly nCtx: number;
  readonly options: LoadOptions;
  readonly forward: DecoderForward;
  readonly backend: Backend;
  /** Total parameters (elements of every tensor). */
  readonly paramCount: number;
  readonly loadMs: number;
  /** Facts about the file, gathered by the load pass (the model card needs them; nothing reopens the file). */
  readonly file: ModelFileFacts;
  /** A KV cache for nCtx positions (default the model's) in this model's backend memory, f16 unless kvF16 is false. */
  createCache(nCtx?: number): KVCache;
  /** KV bytes per token of context: nLayer * 2 (K and V) * nHeadKv * headDim * (2 for f16, 4 for f32). */
  readonly kvBytesPerToken: number;
  /** Bytes the backend holds now: weights, every live KV cache, and scratch (activations, logits, kernel temporaries). */
  memory(): MemoryReport;
  /** Return the backend's memory and stop its threads or device now; idempotent. The model cannot run afterwards. */
  dispose(): void;
  readonly disposed: boolean;
}

export interface ModelFileFacts {
  /** Bytes of the GGUF file, and when it was last modified. */
  readonly size: number;
  readonly modifiedAt: Date;
  /** The tensor type holding most of the matrices' elements (what "Q4_K_M"-style names summarise). */
  readonly quantization: string;
  /** sha256 over the first MiB and the size: stable per file without reading gigabytes. */
  readonly digest: string;
  /** Bytes of tensor data in the file. */
  readonly tensorBytes: number;
}

function dominantType(f: GGUFFile): string {
  const count = new Map<number, number>();
  for (const t of f.tensors) if (t.shape.length >= 2) count.set(t.type, (count.get(t.type) ?? 0) + t.nElements);
  const best = [...count].sort((a, b) => b[1] - a[1])[0];
  return best ? typeName(best[0]) : 'unknown';
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

export function createBackend(opts: LoadOptions): Backend {
  const name = opts.backend ?? 'cpu';
  if (name === 'ref') return createRefBackend();
  if (name === 'cpu') return createCpuBackend({ threads: opts.threads });
  if (name === 'webgpu') return createWebGPUBackend();
  throw new HearthError('invalid_argument', `backend "${name}" is not available in this build; use --backend cpu, ref or webgpu`);
}

/**
 * Tensors read from the file once each: matrices into memory the backend provides, vectors (norms, biases) into
 * host memory, from where they are decoded to f32 and uploaded once.
 */
function fileTensorSource(f: GGUFFile, backend: Backend): TensorSource {
  const loaded = new Map<string, Uint8Array>();
  return {
    file: f.name,
    get(name) {
      const info = f.findTensor(name);
      if (!info) return undefined;
      let data = loaded.get(name);
      if (!data) {
        const isMatrix = info.shape.length >= 2 && info.shape.slice(1).some((d) => d > 1);
        data = isMatrix ? backend.allocWeight(info.byteSize) : new Uint8Array(info.byteSize);
        f.readTensorInto(info, data);
        loaded.set(name, data);
      }
      return { shape: info.shape, type: info.type as GGMLTypeId, data };
    },
  };
}

/** Load a model; `into` is a backend to load it into instead of the one opts.backend names (tests, tools). */
export function loadModel(path: string, opts: LoadOptions = {}, into?: Backend): LoadedModel {
  const t0 = performance.now();
  const file = openGGUF(path);
  try {
    const md = file.metadata;
    const arch = md.getString('general.architecture');
    const spec = archSpec(arch);
    if (!spec) {
      throw new HearthError('unsupported_architecture',
        `${path}: architecture "${arch}" is not supported (supported: ${supportedArchs().join(', ')})`);
    }
    const tokenizer = opts.tokenizerPath ? loadTokenizer(opts.tokenizerPath) : tokenizerFromGGUF(md);
    const embd = file.findTensor('token_embd.weight');
    const nVocab = embd?.shape[1] ?? tokenizer.vocabSize;
    const hp = readDecoderHParams(md, arch, spec.ropeOrder, nVocab);
    const nCtx = opts.nCtx ?? Math.min(hp.nCtxTrain, DEFAULT_MAX_CTX);
    if (!Number.isInteger(nCtx) || nCtx < 1) throw new HearthError('invalid_argument', `context size must be a positive integer, got ${opts.nCtx}`);
    const backend = into ?? createBackend(opts);
    let forward: DecoderForward;
    try {
      const weights = loadDecoderWeights(fileTensorSource(file, backend), hp, spec.attnBias, backend);
      forward = new DecoderForward(hp, weights, backend);
      // a device error (out of memory, validation) surfaces now rather than at the first forward pass
      backend.submit();
    } catch (e) {
      backend.dispose();
      throw e;
    }
    const st = statSync(path);
    const kvF16 = opts.kvF16 ?? true;
    const kvBytesPerToken = hp.nLayer * 2 * hp.nHeadKv * hp.headDim * (kvF16 ? 2 : 4);
    let disposed = false;
    const live = () => {
      if (disposed) throw new HearthError('invalid_argument', `the model ${path} has been disposed`);
    };
    return {
      path,
      name: modelNameFromPath(path),
      arch,
      hp,
      metadata: md,
      tokenizer,
      chatTemplate: md.getString('tokenizer.chat_template', undefined),
      nCtx,
      options: opts,
      forward,
      backend,
      paramCount: file.tensors.reduce((s, t) => s + t.nElements, 0),
      loadMs: performance.now() - t0,
      file: {
        size: st.size,
        modifiedAt: st.mtime,
        quantization: dominantType(file),
        digest: fileDigest(path, st.size),
        tensorBytes: file.tensors.reduce((s, t) => s + t.byteSize, 0),
      },
      kvBytesPerToken,
      createCache(n = nCtx) {
        live();
        return new KVCache(backend, hp.nLayer, n, hp.nHeadKv * hp.headDim, kvF16);
      },
      memory() {
        live();
        return backend.memory();
      },
      get disposed() {
        return disposed;
      },
      dispose() {
        if (disposed) return;
        disposed = true;
        forward.dispose();
        backend.dispose();
      },
    };
  } finally {
    file.close();
  }
}
