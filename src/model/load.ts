// Loads a GGUF model: metadata -> architecture -> hyper-parameters -> weights -> tokenizer -> forward pass.

import { openGGUF, type GGUFFile } from '../gguf/reader.ts';
import type { GGUFMetadata } from '../gguf/metadata.ts';
import type { GGMLTypeId } from '../gguf/ggml-types.ts';
import { HearthError } from '../util/errors.ts';
import { createRefBackend } from '../kernels/ref/backend.ts';
import { createCpuBackend } from '../kernels/wasm/backend.ts';
import type { Backend } from '../kernels/backend.ts';
import { createWebGPUBackend, isWebGPUBackend } from '../kernels/webgpu/host.ts';
import { WebGPUDecoderForward } from '../kernels/webgpu/decoder-forward.ts';
import { tokenizerFromGGUF, loadTokenizer } from '../tokenizer/index.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import type { LoadOptions } from '../engine/types.ts';
import { archSpec, supportedArchs } from './archs/index.ts';
import { DecoderForward, loadDecoderWeights } from './archs/llama-family.ts';
import { readDecoderHParams, type DecoderHParams } from './hparams.ts';
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
  /** Stop the backend's threads or device now rather than at garbage collection. */
  dispose(): void;
}

export function createBackend(opts: LoadOptions): Backend {
  const name = opts.backend ?? 'cpu';
  if (name === 'ref') return createRefBackend();
  if (name === 'cpu') return createCpuBackend({ threads: opts.threads });
  if (name === 'webgpu') return createWebGPUBackend();
  throw new HearthError('invalid_argument', `backend "${name}" is not available in this build; use --backend cpu, ref or webgpu`);
}

/** Tensors read from the file into memory the backend provides, once each. */
function fileTensorSource(f: GGUFFile, backend: Backend): TensorSource {
  const loaded = new Map<string, Uint8Array>();
  return {
    file: f.name,
    get(name) {
      const info = f.findTensor(name);
      if (!info) return undefined;
      let data = loaded.get(name);
      if (!data) {
        data = backend.allocWeight(info.byteSize);
        f.readTensorInto(info, data);
        loaded.set(name, data);
      }
      return { shape: info.shape, type: info.type as GGMLTypeId, data };
    },
  };
}

export function loadModel(path: string, opts: LoadOptions = {}): LoadedModel {
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
    const backend = createBackend(opts);
    const weights = loadDecoderWeights(fileTensorSource(file, backend), hp, spec.attnBias);
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
      // webgpu runs whole passes on the GPU, with the weights uploaded here
      forward: isWebGPUBackend(backend) ? new WebGPUDecoderForward(hp, weights, backend) : new DecoderForward(hp, weights, backend),
      backend,
      paramCount: file.tensors.reduce((s, t) => s + t.nElements, 0),
      loadMs: performance.now() - t0,
      dispose: () => backend.dispose(),
    };
  } finally {
    file.close();
  }
}
