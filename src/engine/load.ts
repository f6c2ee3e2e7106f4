// Loads a GGUF model: metadata -> architecture -> hyper-parameters -> weights -> tokenizer -> forward pass.

import { openGGUFModel } from '../gguf/split.ts';
import { HearthError } from '../util/errors.ts';
import { createRefBackend } from '../kernels/ref/backend.ts';
import { createCpuBackend } from '../kernels/wasm/backend.ts';
import type { Backend, MemoryReport } from '../kernels/types.ts';
import { createWebGPUBackend } from '../kernels/webgpu/host.ts';
import type { LoadOptions } from './types.ts';
import { DecoderForward } from '../model/decoder.ts';
import { KVCache, kvCacheBytes, type KVLayout } from '../model/kv-cache.ts';
import { readModelInfo, type ModelInfo } from './model-info.ts';
import { loadWeights } from '../model/weights.ts';
import { fileTensorSource } from './tensor-source.ts';
import { VisionModel } from './vision/mmproj.ts';

export { DEFAULT_MAX_CTX, type ModelFileFacts } from './model-info.ts';

export interface LoadedModel extends ModelInfo {
  readonly forward: DecoderForward;
  readonly backend: Backend;
  readonly loadMs: number;
  /** The vision encoder of the mmproj loaded beside the model (LoadOptions.mmproj), in the model's backend. */
  readonly vision?: VisionModel;
  /** A KV cache for nCtx positions (default the model's) in this model's backend memory, f16 unless kvF16 is false. */
  createCache(nCtx?: number): KVCache;
  /**
   * KV bytes per token of context with every layer full: nLayer * 2 (K and V) * nHeadKv * headDim * (2 for f16, 4
   * for f32). Sliding-window layers keep rings, so use kvBytes(nCtx) for what a context costs.
   */
  readonly kvBytesPerToken: number;
  /**
   * Bytes of the KV cache createCache(nCtx) allocates (default the model's context): full layers nCtx rows, window
   * layers a ring sized as llama.cpp's SWA cache (../model/kv-cache.ts has the formula).
   */
  kvBytes(nCtx?: number): number;
  /** Bytes the backend holds now: weights, every live KV cache, and scratch (activations, logits, kernel temporaries). */
  memory(): MemoryReport;
  /** Return the backend's memory and stop its threads or device now; idempotent. The model cannot run afterwards. */
  dispose(): void;
  readonly disposed: boolean;
}

export function createBackend(opts: LoadOptions): Backend {
  const name = opts.backend ?? 'cpu';
  if (name === 'ref') return createRefBackend();
  if (name === 'cpu') return createCpuBackend({ threads: opts.threads });
  if (name === 'webgpu') return createWebGPUBackend();
  throw new HearthError('invalid_argument', `backend "${name}" is not available in this build; use --backend cpu, ref or webgpu`);
}

/**
 * Load a model from its GGUF file, or from the first part of a split one (`NAME-00001-of-0000N.gguf`, the other
 * parts beside it); `into` is a backend to load it into instead of the one opts.backend names (tests, tools).
 */
export function loadModel(path: string, opts: LoadOptions = {}, into?: Backend): LoadedModel {
  const t0 = performance.now();
  const file = openGGUFModel(path);
  try {
    const { architecture, ...info } = readModelInfo(file, path, opts);
    const { hp, nCtx } = info;
    const backend = into ?? createBackend(opts);
    let forward: DecoderForward;
    let vision: VisionModel | undefined;
    try {
      const weights = loadWeights(fileTensorSource(file, backend), architecture.tensors, hp, backend);
      forward = new DecoderForward(architecture.build(hp, weights, { nCtx }), backend);
      vision = opts.mmproj ? VisionModel.load(opts.mmproj, hp.nEmbd, backend) : undefined;
      // a device error (out of memory, validation) surfaces now rather than at the first forward pass
      backend.submit();
    } catch (e) {
      backend.dispose();
      throw e;
    }
    const kvF16 = opts.kvF16 ?? true;
    const kvBytesPerToken = hp.nLayer * 2 * hp.nHeadKv * hp.headDim * (kvF16 ? 2 : 4);
    const m = forward.model;
    // rings for causal models only: a bidirectional one attends to its whole input in one pass
    const layout: KVLayout = { window: m.kvWindow && !m.bidirectional ? (il) => m.kvWindow!(il) : undefined, nUbatch: opts.nBatch ?? 512 };
    let disposed = false;
    const live = () => {
      if (disposed) throw new HearthError('invalid_argument', `the model ${path} has been disposed`);
    };
    return {
      ...info,
      forward,
      backend,
      vision,
      loadMs: performance.now() - t0,
      kvBytesPerToken,
      createCache(n = nCtx) {
        live();
        return new KVCache(backend, hp.nLayer, n, hp.nHeadKv * hp.headDim, kvF16, layout);
      },
      kvBytes: (n = nCtx) => kvCacheBytes(hp.nLayer, n, hp.nHeadKv * hp.headDim, kvF16, layout),
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

/**
 * Runs one token through a freshly loaded model, so that a file whose hyper-parameters pass every check but cannot
 * run fails at load with model_invalid rather than at its first request. Causal models on a synchronous backend only
 * (an encoder runs whole inputs; webgpu reads back asynchronously); a few milliseconds for small models.
 */
export function checkOneToken(model: LoadedModel): void {
  if (model.forward.model.bidirectional || model.options.backend === 'webgpu') return;
  const cache = model.createCache(Math.min(model.nCtx, 8));
  try {
    const logits = model.forward.forward([0], 0, cache);
    if (!Number.isFinite(logits[0])) throw new Error(`the logits are not finite (${logits[0]})`);
  } catch (e) {
    if (e instanceof HearthError) throw e;
    throw new HearthError('model_invalid', `${model.path}: the model loads but cannot run one token: ${(e as Error).message}`, { cause: e });
  } finally {
    cache.dispose();
  }
}
