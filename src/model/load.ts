// Loads a GGUF model: metadata -> architecture -> hyper-parameters -> weights -> tokenizer -> forward pass.

import { openGGUF, type GGUFFile } from '../gguf/reader.ts';
import type { GGMLTypeId } from '../gguf/ggml-types.ts';
import { HearthError } from '../util/errors.ts';
import { createRefBackend } from '../kernels/ref/backend.ts';
import { createCpuBackend } from '../kernels/wasm/backend.ts';
import type { Backend } from '../kernels/backend.ts';
import { createWebGPUBackend, isWebGPUBackend } from '../kernels/webgpu/host.ts';
import { WebGPUDecoderForward } from '../kernels/webgpu/decoder-forward.ts';
import type { LoadOptions } from '../engine/types.ts';
import { DecoderForward, loadDecoderWeights } from './archs/llama-family.ts';
import { readModelInfo, type ModelInfo } from './info.ts';
import type { TensorSource } from './weights.ts';

export { DEFAULT_MAX_CTX } from './info.ts';

export interface LoadedModel extends ModelInfo {
  readonly forward: DecoderForward;
  readonly backend: Backend;
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
    const { spec, ...info } = readModelInfo(file, path, opts);
    const { hp } = info;
    const backend = createBackend(opts);
    const weights = loadDecoderWeights(fileTensorSource(file, backend), hp, spec.attnBias);
    return {
      ...info,
      // webgpu runs whole passes on the GPU, with the weights uploaded here
      forward: isWebGPUBackend(backend) ? new WebGPUDecoderForward(hp, weights, backend) : new DecoderForward(hp, weights, backend),
      backend,
      loadMs: performance.now() - t0,
      dispose: () => backend.dispose(),
    };
  } finally {
    file.close();
  }
}
