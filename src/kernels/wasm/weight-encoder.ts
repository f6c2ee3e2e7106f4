// The wasm weight encoder (assembly/quantize-weights.ts): the same bytes as the TypeScript encoders of
// src/quant/ref for Q2_K..Q6_K, Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0, several times faster (BENCHMARKS.md,
// "Weight quantization"). It owns a small memory of its own and an instance of the kernel module on it (per
// JavaScript thread: a worker that imports this gets its own), and encodes a tensor in chunks of whole rows
// copied through that memory, so a tensor of any size passes through a few MiB. useWasmWeightEncoder()
// installs it behind quantizeTensor.

import { GGMLType, rowBytes, typeName } from '../../gguf/ggml-types.ts';
import { setTensorEncoder, type TensorEncoder } from '../../quant/index.ts';
import { HearthError } from '../../util/errors.ts';
import { WasmHeap } from './heap.ts';
import { kernelModule } from './module.ts';
import { wasm } from './wasm-api.ts';

interface EncoderExports {
  quantizeWeights(type: number, x: number, n: number, dst: number, scratch: number): number;
}

/** Keep in step with SCRATCH_BYTES in assembly/quantize-weights.ts. */
const SCRATCH_BYTES = 4096;
/** Values per chunk by default: 1 MiB of f32 in, well under that out. */
const CHUNK_VALUES = 1 << 18;

export const WASM_WEIGHT_TYPES: ReadonlySet<number> = new Set([
  GGMLType.Q2_K, GGMLType.Q3_K, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K,
  GGMLType.Q4_0, GGMLType.Q4_1, GGMLType.Q5_0, GGMLType.Q5_1, GGMLType.Q8_0,
]);

export interface WasmWeightEncoderOptions {
  /** The kernel build (see kernelModule); the encoders are scalar, so both give the same bytes and speed. */
  relaxed?: boolean;
  /** Values copied through the wasm memory per call (rounded down to whole rows, at least one row). */
  chunkValues?: number;
}

/** A TensorEncoder on its own wasm memory; throws when the kernel module cannot be loaded. */
export function createWasmWeightEncoder(opts: WasmWeightEncoderOptions = {}): TensorEncoder {
  const chunkValues = opts.chunkValues ?? CHUNK_VALUES;
  if (!Number.isSafeInteger(chunkValues) || chunkValues < 1) {
    throw new HearthError('invalid_argument', `chunkValues must be a positive integer, got ${chunkValues}`);
  }
  const heap = new WasmHeap(4 * 1024 * 1024);
  const ex = new wasm.Instance(kernelModule(opts.relaxed).module, { env: { memory: heap.memory } }).exports as unknown as EncoderExports;
  const scratch = heap.alloc(SCRATCH_BYTES, 'weight encoder scratch');
  let src = 0;
  let srcBytes = 0;
  let dst = 0;
  let dstBytes = 0;

  /** Regions of at least these sizes for a chunk (kept for later tensors, replaced when too small). */
  function reserve(needSrc: number, needDst: number): void {
    if (needSrc > srcBytes) {
      if (srcBytes) heap.release(src, srcBytes);
      src = heap.alloc(needSrc, 'weight encoder input');
      srcBytes = needSrc;
    }
    if (needDst > dstBytes) {
      if (dstBytes) heap.release(dst, dstBytes);
      dst = heap.alloc(needDst, 'weight encoder output');
      dstBytes = needDst;
    }
  }

  return {
    name: 'wasm',
    supports: (type) => WASM_WEIGHT_TYPES.has(type),
    encode(type, values, rowLen, out) {
      if (!WASM_WEIGHT_TYPES.has(type)) {
        throw new HearthError('unsupported_type', `the wasm weight encoder has no ${typeName(type)} encoder`);
      }
      const nRows = values.length / rowLen;
      const rb = rowBytes(type, rowLen);
      const perChunk = Math.max(1, Math.min(nRows, Math.floor(chunkValues / rowLen)));
      reserve(perChunk * rowLen * 4, perChunk * rb);
      for (let r0 = 0; r0 < nRows; r0 += perChunk) {
        const k = Math.min(perChunk, nRows - r0);
        heap.f32(src, k * rowLen).set(values.subarray(r0 * rowLen, (r0 + k) * rowLen));
        if (ex.quantizeWeights(type, src, k * rowLen, dst, scratch) !== 0) {
          throw new HearthError('internal', `the wasm weight encoder rejected ${typeName(type)}`);
        }
        out.set(heap.bytes(dst, k * rb), r0 * rb);
      }
    },
  };
}

/**
 * Install the wasm weight encoder behind quantizeTensor (for this JavaScript thread; an encoder instance is
 * made on first use). Returns false, leaving the TypeScript encoders in place, when the kernel module cannot be
 * loaded (no build, or an engine without WebAssembly SIMD and threads).
 */
export function useWasmWeightEncoder(opts: WasmWeightEncoderOptions = {}): boolean {
  try {
    kernelModule(opts.relaxed);
  } catch {
    return false;
  }
  let encoder: TensorEncoder | undefined;
  setTensorEncoder({
    name: 'wasm',
    supports: (type) => WASM_WEIGHT_TYPES.has(type),
    encode(type, values, rowLen, out) {
      encoder ??= createWasmWeightEncoder(opts);
      encoder.encode(type, values, rowLen, out);
    },
  });
  return true;
}
