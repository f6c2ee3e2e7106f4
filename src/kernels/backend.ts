// The interface every compute backend implements. The model's forward pass is written once against it.
//
// Ops take backend-owned tensors: a handle to memory the backend allocated, an element offset into it, a length
// and an element type. The cpu backend maps a handle to a pointer into its WebAssembly memory, the reference
// backend to a TypeScript array, the webgpu backend to a GPUBuffer (and records ops into a command encoder until
// a read). Ops may be deferred: only read() promises that everything before it has run.

import { HearthError } from '../util/errors.ts';
import type { GGMLTypeId } from '../gguf/ggml-types.ts';
import type { AttentionShape } from './ref/attention.ts';
import type { AttentionOptions } from './ref/attention-options.ts';
import type { MoeRoute } from './ref/moe.ts';
import type { RopeParams } from './ref/rope.ts';

/** A 2-D weight as stored in the file: `rows` rows of `cols` elements, packed in `type` blocks. */
export interface WeightTensor {
  readonly name: string;
  readonly type: GGMLTypeId;
  readonly cols: number;
  readonly rows: number;
  readonly data: Uint8Array;
}

/** Element types of backend tensors: f32 activations and vectors, f16 KV caches (IEEE half bits). */
export type DType = 'f32' | 'f16';
export const DTYPE_BYTES: Readonly<Record<DType, number>> = { f32: 4, f16: 2 };

/** What a buffer is for, so a loaded model can say where its bytes go. */
export type MemoryUse = 'weights' | 'kv' | 'scratch';

/** `length` elements of `dtype` starting at element `offset` of the backend buffer `handle`. */
export interface Tensor {
  readonly handle: number;
  readonly offset: number;
  readonly length: number;
  readonly dtype: DType;
}

/** Elements [offset, offset + length) of t, as a tensor over the same buffer. */
export function view(t: Tensor, offset: number, length = t.length - offset): Tensor {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > t.length) {
    throw new HearthError('invalid_argument', `view [${offset}, ${offset + length}) lies outside a tensor of ${t.length} elements`);
  }
  return { handle: t.handle, offset: t.offset + offset, length, dtype: t.dtype };
}

/** Bytes a backend holds, by use: what is allocated now (allocation padding included), not a high-water mark. */
export interface MemoryReport {
  weights: number;
  kv: number;
  scratch: number;
}

export interface Backend {
  readonly name: string;
  /**
   * Memory for a packed weight of `bytes` bytes, where this backend wants it (e.g. inside a WebAssembly memory).
   * The loader reads tensor data from the file straight into it, then hands the filled weight to adoptWeight.
   */
  allocWeight(bytes: number): Uint8Array;
  /** Take a filled weight into backend memory (a GPU uploads it and drops the host bytes); returns what ops take. */
  adoptWeight(w: WeightTensor): WeightTensor;
  /** A zeroed tensor of n elements. */
  alloc(n: number, dtype: DType, use: MemoryUse): Tensor;
  /** Write f32 values into t (rounded to half for an f16 tensor). */
  upload(t: Tensor, data: Float32Array): void;
  /** t's values as f32, after every op recorded before it has run (a Promise on backends that complete later). */
  read(t: Tensor): Float32Array | Promise<Float32Array>;
  /**
   * Like read, but never blocks the calling thread (a backend whose device runs in another thread waits for it
   * asynchronously here, and synchronously in read).
   */
  readAsync?(t: Tensor): Promise<Float32Array>;
  /** Run everything recorded so far; errors of deferred work (device out of memory, validation) surface here. */
  submit(): void;
  /** Return an allocated tensor's memory now; t must be what alloc returned. */
  free(t: Tensor): void;
  memory(): MemoryReport;

  /** out[t, :] = row ids[t] of w, decoded to f32; out is [ids.length, w.cols]. */
  getRows(w: WeightTensor, ids: Int32Array, out: Tensor): void;
  /** y[t, r] = sum_c W[r, c] * x[t, c]; x is [nTokens, cols], y is [nTokens, rows]. */
  matmul(w: WeightTensor, x: Tensor, nTokens: number, y: Tensor): void;
  rmsNorm(x: Tensor, weight: Tensor, eps: number, n: number, nTokens: number, out: Tensor): void;
  /** Rotate x [nTokens, nHead, headDim] in place; positions[t] is token t's position. */
  rope(x: Tensor, nTokens: number, nHead: number, headDim: number, positions: Int32Array, p: RopeParams): void;
  /** Copy f32 rows of K and V into cache views of the same length, converted to the caches' dtype (f16 rounds). */
  kvStore(k: Tensor, v: Tensor, kCache: Tensor, vCache: Tensor): void;
  /**
   * Attention of q [nTokens, nHead, headDim] over the cache: causal over positions 0..pos0+t by default (see
   * ref/attention.ts); `o` may drop the causal mask, add a sliding window, soft-cap the scores and read caches
   * that are rings (ref/attention-options.ts). Without `o`, or with only defaults in it, results are those of the
   * causal kernel.
   */
  attention(q: Tensor, kCache: Tensor, vCache: Tensor, nTokens: number, pos0: number, s: AttentionShape, out: Tensor,
    o?: AttentionOptions): void;
  /** gate = silu(gate) * up over n elements. */
  swiglu(gate: Tensor, up: Tensor, n: number): void;
  /**
   * out[t] = (x[t] - mean) / sqrt(var + eps) * weight + bias per row of n (ggml_norm, then the optional weight and
   * bias rows; see ref/layer-norm.ts).
   */
  layerNorm(x: Tensor, weight: Tensor | undefined, bias: Tensor | undefined, eps: number, n: number, nTokens: number, out: Tensor): void;
  /** x = gelu(x), the tanh form as ggml's CPU table gives it (rounded through f16; ref/gelu.ts), n elements. */
  gelu(x: Tensor, n: number): void;
  /** x = 0.5 x (1 + erf(x / sqrt 2)), n elements. */
  geluErf(x: Tensor, n: number): void;
  /** gate = gelu(gate) * up over n elements (tanh form, as gelu). */
  geglu(gate: Tensor, up: Tensor, n: number): void;
  /** x *= s over n elements. */
  scale(x: Tensor, s: number, n: number): void;
  /** x = cap * tanh(x / cap) over n elements (gemma2's logit soft-capping). */
  softcap(x: Tensor, cap: number, n: number): void;
  /** a += b over n elements. */
  add(a: Tensor, b: Tensor, n: number): void;
  /** x [nTokens, n] += bias [n] per row. */
  addBias(x: Tensor, bias: Tensor, n: number, nTokens: number): void;
  /**
   * Mixture-of-experts routing of logits [nTokens, nExpert] (llama.cpp build_moe_ffn, softmax gating; see
   * ref/moe.ts): per token the nUsed most probable experts and their probabilities (renormalised to sum 1 when
   * `normalize`), on the host, since which rows each expert takes decides the matmuls that follow. A backend
   * whose device completes later reads the logits back here.
   */
  moeRoute(logits: Tensor, nTokens: number, nExpert: number, nUsed: number, normalize: boolean): MoeRoute;
  /**
   * y[i, :] = experts[ids[i]] · x[src[i], :] for i < ids.length (ggml_mul_mat_id): x is [*, cols], y is
   * [ids.length, rows]; every expert has one shape. Rows routed to one expert run as one batched matmul.
   */
  matmulId(experts: readonly WeightTensor[], x: Tensor, src: Int32Array, ids: Int32Array, y: Tensor): void;
  /** out[t, :] = sum_j weights[t * nUsed + j] * experts[t * nUsed + j, :], rows of n (the experts' weighted sum). */
  moeCombine(experts: Tensor, weights: Float32Array, nTokens: number, nUsed: number, n: number, out: Tensor): void;
  /** Release threads, devices and memory; the backend is unusable afterwards. */
  dispose(): void;
}

/** Throws unless t holds at least n elements. */
export function need(t: Tensor, n: number, what: string): void {
  if (t.length < n) throw new HearthError('invalid_argument', `${what}: need ${n} elements, the tensor has ${t.length}`);
}

export type { AttentionOptions, AttentionShape, MoeRoute, RopeParams };
