// The interface every compute backend implements. The model's forward pass is written once against it.

import type { GGMLTypeId } from '../gguf/ggml-types.ts';
import type { AttentionShape } from './ref/attention.ts';
import type { RopeParams } from './ref/rope.ts';

/** A 2-D weight as stored in the file: `rows` rows of `cols` elements, packed in `type` blocks. */
export interface WeightTensor {
  readonly name: string;
  readonly type: GGMLTypeId;
  readonly cols: number;
  readonly rows: number;
  readonly data: Uint8Array;
}

export interface Backend {
  readonly name: string;
  /**
   * Memory for a weight of `bytes` bytes, where this backend wants it (e.g. inside a WebAssembly memory).
   * The loader reads tensor data from the file straight into it.
   */
  allocWeight(bytes: number): Uint8Array;
  /** A zeroed f32 buffer for activations or the KV cache, where this backend computes on it. */
  allocF32(n: number): Float32Array;
  /** y[t, r] = sum_c W[r, c] * x[t, c]; x is [nTokens, cols], y is [nTokens, rows]. */
  matmul(w: WeightTensor, x: Float32Array, nTokens: number, y: Float32Array): void;
  /** out = row r of w, decoded to f32. */
  getRow(w: WeightTensor, r: number, out: Float32Array): void;
  rmsNorm(x: Float32Array, weight: Float32Array, eps: number, n: number, nTokens: number, out: Float32Array): void;
  rope(x: Float32Array, nTokens: number, nHead: number, headDim: number, positions: ArrayLike<number>, p: RopeParams): void;
  attention(q: Float32Array, kCache: Float32Array, vCache: Float32Array, nTokens: number, pos0: number, s: AttentionShape, out: Float32Array): void;
  swiglu(gate: Float32Array, up: Float32Array, n: number): void;
  add(a: Float32Array, b: Float32Array, n: number): void;
  addBias(x: Float32Array, bias: Float32Array, n: number, nTokens: number): void;
  /** Release threads, devices and memory; the backend is unusable afterwards. */
  dispose(): void;
}

export type { AttentionShape, RopeParams };
