// How much memory a model would take, from its file's header (every part's, when split) only (no tensor data is read): weights as the
// backend lays them out, the KV cache at a context size (rings for sliding-window layers, as LoadedModel.kvBytes),
// activations for a batch of tokens, and per-thread buffers; and the JavaScript heap of a model served in this
// process: its vocabulary and metadata, parsed once by the serving thread and once by the engine thread, and the
// engine thread itself.

import { openGGUFModel } from '../gguf/split.ts';
import { kvCacheBytes, DEFAULT_UBATCH, type KVLayout } from '../model/kv-cache.ts';
import { readModelInfo } from './model-info.ts';

export interface FitOptions {
  backend?: 'cpu' | 'ref' | 'webgpu';
  nCtx?: number;
  threads?: number;
  nBatch?: number;
}

export interface MemoryEstimate {
  nCtx: number;
  weights: number;
  kv: number;
  scratch: number;
  threads: number;
  /** Heap of the parsed metadata and vocabulary (twice: serving thread and engine thread) and the engine thread. */
  metadata: number;
  /** What the backend allocates: weights + kv + scratch + threads. */
  backendTotal: number;
  /** Resident memory the process gains from loading the model and filling its context. */
  total: number;
}

/**
 * JavaScript heap per byte of GGUF header once parsed: token strings, scores/types, the BPE merge table and the
 * tokenizer's maps. Measured (RSS after a forced GC) at 26-30 for Llama 2's SPM (32000 tokens), DeepSeek's BPE
 * (102400 tokens, 99757 merges) and Llama 3's BPE (128256 tokens, 280147 merges) vocabularies; without a forced
 * GC the parse's garbage stays resident too.
 */
const HEAP_PER_HEADER_BYTE = 28;
/**
 * The engine thread: a V8 isolate with the engine's modules loaded and its kernel thread pool started (49-53 MiB
 * of resident growth measured for one holding no model yet, 2026-12-04; it grows with the engine's code).
 */
const ENGINE_THREAD_BYTES = 48 * 2 ** 20;

const pad64 = (n: number) => Math.max(64, Math.ceil(n / 64) * 64);

/** Sliding-window layers as llama.cpp's set_swa_pattern lays them out (gemma2 every 2nd, gemma3 5 of 6). */
function windowLayout(arch: string, md: { getNumber(k: string, d: number | undefined): number | undefined }, nBatch: number): KVLayout {
  const window = md.getNumber(`${arch}.attention.sliding_window`, undefined);
  const builtIn: Record<string, number> = { gemma2: 2, gemma3: 6 };
  if (!window || !(arch in builtIn)) return { nUbatch: nBatch };
  const pattern = md.getNumber(`${arch}.attention.sliding_window_pattern`, undefined) ?? builtIn[arch]!;
  return { window: (il) => (il % pattern < pattern - 1 ? window : undefined), nUbatch: nBatch };
}

export function estimateModelBytes(path: string, opts: FitOptions = {}): MemoryEstimate {
  const backend = opts.backend ?? 'cpu';
  const nBatch = opts.nBatch ?? DEFAULT_UBATCH;
  const threads = opts.threads ?? 1;
  const file = openGGUFModel(path);
  try {
    const info = readModelInfo(file, path, { nCtx: opts.nCtx });
    const { hp, nCtx } = info;
    let weights = 0;
    for (const t of file.tensors) {
      const isMatrix = t.shape.length >= 2 && t.shape.slice(1).some((d) => d > 1);
      // matrices keep their file layout; vectors are decoded to f32 on upload
      const bytes = isMatrix ? t.byteSize : t.nElements * 4;
      weights += backend === 'cpu' ? pad64(bytes) : bytes;
    }
    const kvDim = hp.nHeadKv * hp.headDim;
    const kv = kvCacheBytes(hp.nLayer, nCtx, kvDim, true, windowLayout(info.arch, info.metadata, nBatch));
    const n = Math.min(nBatch, nCtx);
    const qDim = hp.nHead * hp.headDim;
    // per token: residual, normed input, q/k/v, attention out, ffn gate/up/out, logits; plus the last token's logits, attention's f32
    // copy of K and V
    const perToken = 4 * (3 * hp.nEmbd + qDim + 2 * kvDim + qDim + 3 * hp.nFF);
    const scratch = n * perToken + 4 * hp.nVocab + 4 * 2 * nCtx * kvDim;
    const perThread = backend === 'cpu' ? threads * 4 * Math.max(hp.nFF, hp.nEmbd, nCtx) : 0;
    const metadata = 2 * HEAP_PER_HEADER_BYTE * file.headerBytes + ENGINE_THREAD_BYTES;
    const backendTotal = weights + kv + scratch + perThread;
    return { nCtx, weights, kv, scratch, threads: perThread, metadata, backendTotal, total: backendTotal + metadata };
  } finally {
    file.close();
  }
}
