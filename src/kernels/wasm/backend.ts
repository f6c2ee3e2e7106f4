// The cpu backend: WebAssembly SIMD kernels (AssemblyScript, assembly/) on worker threads that share one
// WebAssembly.Memory. Weights, activations and the KV cache live in that memory, so kernels take pointers
// (a view's byteOffset) and nothing is copied; arrays from elsewhere (logits, norm weights) are staged.
// Matmul quantizes the activations on the main thread as ggml's vec_dot_type does, then splits the weight
// rows across threads. Types without a kernel fall back to the reference matmul (dequantize -> f32).
// rope and get-rows run the reference TypeScript in place: measured on a 2-layer 2048-wide Q4_0 model, rope
// was ~3% of a 64-token prefill and get-rows under 1%, so they stay in TypeScript.

import { availableParallelism } from 'node:os';
import { rowBytes, typeLayout } from '../../gguf/ggml-types.ts';
import { HearthError } from '../../util/errors.ts';
import type { AttentionShape, Backend, WeightTensor } from '../backend.ts';
import { attention as refAttention } from '../ref/attention.ts';
import { getRow, matmul as refMatmul } from '../ref/matmul.ts';
import { addBias as refAddBias, addInPlace, swiglu as refSwiglu } from '../ref/ops.ts';
import { rope } from '../ref/rope.ts';
import { CTL_PTR, MAX_ARGS, OP_ATTENTION, OP_MATMUL, SLOT } from './abi.ts';
import { WasmHeap } from './heap.ts';
import { actBytes, actKind, actStride, type ActKind } from './kernel-table.ts';
import { kernelModule } from './module.ts';
import { sharedThreadPool, type PoolLease, type RunFn } from './thread-pool.ts';
import { wasm } from './wasm-api.ts';

export interface CpuBackendOptions {
  /** Threads, the calling one included (default os.availableParallelism()). */
  threads?: number;
  /** Use the relaxed-SIMD kernels (default: when the engine supports them). */
  relaxed?: boolean;
  /** Ops with fewer multiply-adds than this run on the calling thread alone (default 2^18; 0 always splits). */
  minParallelWork?: number;
}

export interface CpuBackend extends Backend {
  readonly threads: number;
  readonly relaxed: boolean;
  /** Whether matmul over this tensor type runs a wasm kernel (otherwise the reference). */
  hasKernel(type: number): boolean;
  /** Bytes of wasm memory in use. */
  readonly memoryBytes: number;
  /** Stop the worker threads; the backend must not be used afterwards. */
  dispose(): void;
}

interface KernelExports {
  run: RunFn;
  quantizeQ8(x: number, cols: number, nTok: number, act: number, stride: number): void;
  quantizeQ8K(x: number, cols: number, nTok: number, act: number, stride: number): void;
  roundRowsF16(x: number, n: number, out: number): void;
  roundRowsBF16(x: number, n: number, out: number): void;
  rmsNorm(x: number, weight: number, eps: number, n: number, nTok: number, out: number): void;
  swiglu(gate: number, up: number, n: number): void;
  add(a: number, b: number, n: number): void;
  addBias(x: number, bias: number, n: number, nTok: number): void;
  initConstants(): void;
}

/** Detaches a backend's memory from the pool once the backend is garbage-collected (dropped without dispose()). */
const orphanedLeases = new FinalizationRegistry<PoolLease>((lease) => lease.dispose());

/** Below this many multiply-adds an op runs on the calling thread alone (posting to workers costs ~10-50 µs). */
const MIN_PARALLEL_WORK = 1 << 18;
/** A matmul chunk's weight rows stay under this many bytes when several token tiles reuse them. */
const CHUNK_BYTES = 32 * 1024;

export function createCpuBackend(opts: CpuBackendOptions = {}): CpuBackend {
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new HearthError('invalid_argument', `threads must be a positive integer, got ${opts.threads}`);
  }
  const minWork = opts.minParallelWork ?? MIN_PARALLEL_WORK;
  const km = kernelModule(opts.relaxed);
  const heap = new WasmHeap();
  const ex = new wasm.Instance(km.module, { env: { memory: heap.memory } }).exports as unknown as KernelExports;
  ex.initConstants();
  const pool = sharedThreadPool().lease(km.module, heap.memory, threads, ex.run);
  const args = new Int32Array(heap.buffer, CTL_PTR + SLOT.ARGS * 4, MAX_ARGS);
  const argsF = new Float32Array(args.buffer, args.byteOffset, MAX_ARGS);

  // Named scratch regions, grown on demand (the old region goes back to the heap's free list).
  const scratch = new Map<string, { ptr: number; bytes: number }>();
  function region(name: string, bytes: number): number {
    const r = scratch.get(name);
    if (r && r.bytes >= bytes) return r.ptr;
    if (r) heap.release(r.ptr, r.bytes);
    const ptr = heap.alloc(bytes, `scratch for ${name}`);
    scratch.set(name, { ptr, bytes });
    return ptr;
  }
  /** Pointer to x's first n floats: x itself when it lives in the wasm memory, else a staged copy. */
  function input(x: Float32Array, n: number, name: string): number {
    if (x.length < n) throw new HearthError('invalid_argument', `${name}: need ${n} floats, got ${x.length}`);
    if (heap.owns(x)) return x.byteOffset;
    const p = region(name, n * 4);
    heap.f32(p, n).set(x.subarray(0, n));
    return p;
  }
  /** Where to write n floats of y, and how to deliver them afterwards. */
  function output(y: Float32Array, n: number, name: string): [number, () => void] {
    if (y.length < n) throw new HearthError('invalid_argument', `${name}: need room for ${n} floats, got ${y.length}`);
    if (heap.owns(y)) return [y.byteOffset, () => {}];
    const p = region(name, n * 4);
    return [p, () => y.set(heap.f32(p, n))];
  }

  function quantizeActivations(kind: ActKind, xp: number, cols: number, nTokens: number): [number, number] {
    if (kind === 'f32') return [xp, cols * 4];
    const stride = actStride(kind, cols);
    const act = region('activations', actBytes(kind, cols, nTokens));
    if (kind === 'q8') ex.quantizeQ8(xp, cols, nTokens, act, stride);
    else if (kind === 'q8k') ex.quantizeQ8K(xp, cols, nTokens, act, stride);
    else if (kind === 'f16') ex.roundRowsF16(xp, cols * nTokens, act);
    else ex.roundRowsBF16(xp, cols * nTokens, act);
    return [act, stride];
  }

  function matmul(w: WeightTensor, x: Float32Array, nTokens: number, y: Float32Array): void {
    const { cols, rows, type } = w;
    const kind = actKind(type);
    const layout = typeLayout(type);
    if (!kind || !layout || cols % layout.blockSize !== 0) {
      refMatmul(w, x, nTokens, y, true);
      return;
    }
    const rb = rowBytes(type, cols);
    if (w.data.byteLength < rb * rows) {
      throw new HearthError('invalid_argument', `${w.name}: ${rows} rows need ${rb * rows} bytes, got ${w.data.byteLength}`);
    }
    let wp = w.data.byteOffset;
    if (!heap.owns(w.data)) {
      wp = region('weight', rb * rows);
      heap.bytes(wp, rb * rows).set(w.data.subarray(0, rb * rows));
    }
    const xp = input(x, cols * nTokens, 'matmul input');
    const [act, stride] = quantizeActivations(kind, xp, cols, nTokens);
    const [yp, deliver] = output(y, rows * nTokens, 'matmul output');
    const nth = rows * cols * nTokens < minWork ? 1 : pool.size;
    let chunk = Math.ceil(rows / (nth * 8));
    if (nTokens > 4) chunk = Math.min(chunk, Math.floor(CHUNK_BYTES / rb));
    args[0] = type;
    args[1] = wp;
    args[2] = rb;
    args[3] = cols;
    args[4] = act;
    args[5] = stride;
    args[6] = nTokens;
    args[7] = yp;
    args[8] = rows;
    args[9] = Math.max(1, chunk);
    pool.dispatch(OP_MATMUL, nth);
    deliver();
  }

  function attention(q: Float32Array, kCache: Float32Array, vCache: Float32Array, nTokens: number, pos0: number,
    s: AttentionShape, out: Float32Array): void {
    const { nHead, nHeadKv, headDim } = s;
    if (headDim % 4 !== 0 || nHead % nHeadKv !== 0 || !heap.owns(kCache) || !heap.owns(vCache)) {
      refAttention(q, kCache, vCache, nTokens, pos0, s, out);
      return;
    }
    const n = nTokens * nHead * headDim;
    const nKv = pos0 + nTokens;
    if (kCache.length < nKv * nHeadKv * headDim || vCache.length < nKv * nHeadKv * headDim) {
      throw new HearthError('invalid_argument', `attention: the cache holds fewer than ${nKv} positions`);
    }
    const qp = input(q, n, 'attention query');
    const [op, deliver] = output(out, n, 'attention output');
    const perThread = Math.ceil(((headDim + nKv) * 4) / 64) * 64;
    const work = nTokens * nHead * nKv * headDim;
    const nth = work < minWork ? 1 : pool.size;
    const sp = region('attention scores', perThread * nth);
    args[0] = qp;
    args[1] = kCache.byteOffset;
    args[2] = vCache.byteOffset;
    args[3] = op;
    args[4] = nTokens;
    args[5] = pos0;
    args[6] = nHead;
    args[7] = nHeadKv;
    args[8] = headDim;
    argsF[9] = s.scale;
    args[10] = s.f16 ? 1 : 0;
    args[11] = sp;
    args[12] = perThread;
    pool.dispatch(OP_ATTENTION, nth);
    deliver();
  }

  const backend: CpuBackend = {
    name: 'cpu',
    threads,
    relaxed: km.relaxed,
    get memoryBytes() {
      return heap.used;
    },
    hasKernel: (type) => actKind(type) !== undefined,
    allocWeight: (bytes) => heap.bytes(heap.alloc(bytes, 'model weights'), bytes),
    allocF32: (n) => heap.allocF32(n, 'activations and KV cache'),
    matmul,
    getRow,
    rmsNorm(x, weight, eps, n, nTokens, out) {
      const xp = input(x, n * nTokens, 'rmsnorm input');
      const wp = input(weight, n, 'rmsnorm weight');
      const [op, deliver] = output(out, n * nTokens, 'rmsnorm output');
      ex.rmsNorm(xp, wp, eps, n, nTokens, op);
      deliver();
    },
    rope,
    attention,
    swiglu(gate, up, n) {
      if (!heap.owns(gate) || !heap.owns(up)) return refSwiglu(gate, up, n);
      ex.swiglu(gate.byteOffset, up.byteOffset, n);
    },
    add(a, b, n) {
      if (!heap.owns(a) || !heap.owns(b)) return addInPlace(a, b, n);
      ex.add(a.byteOffset, b.byteOffset, n);
    },
    addBias(x, bias, n, nTokens) {
      if (!heap.owns(x)) return refAddBias(x, bias, n, nTokens);
      ex.addBias(x.byteOffset, input(bias, n, 'bias'), n, nTokens);
    },
    dispose: () => pool.dispose(),
  };
  orphanedLeases.register(backend, pool);
  return backend;
}
