// The cpu backend: WebAssembly SIMD kernels (AssemblyScript, assembly/) on worker threads that share one
// WebAssembly.Memory. Weights, activations, norm vectors and the KV cache live in that memory: a tensor's handle
// is the byte pointer of its allocation, so kernels take pointers and nothing is staged. An f16 tensor (the KV
// cache) holds IEEE half bits, written by the storeF16 kernel and read as halves by the attention kernel.
// Matmul quantizes the activations on the main thread as ggml's vec_dot_type does, then splits the weight
// rows across threads. Types without a kernel fall back to the reference matmul (dequantize -> f32).
// rope and get-rows run the reference TypeScript in place: measured on a 2-layer 2048-wide Q4_0 model, rope
// was ~3% of a 64-token prefill and get-rows under 1%, so they stay in TypeScript.
// layerNorm, gelu, geluErf, geglu, scale and softcap run wasm kernels (assembly/ops.ts). Attention takes every
// option of ref/attention-options.ts in the wasm kernel (non-causal, a sliding window, soft-capped scores, a ring
// cache); only a headDim that is not a multiple of 4 (or heads that do not group) runs the reference.
// Mixture-of-experts: matmulId gathers each expert's rows into scratch and runs the wasm matmul once per expert;
// routing (softmax and top-k over a few dozen logits per token) and the weighted combine run the reference on
// views of the wasm memory.

import { availableParallelism } from 'node:os';
import { rowBytes, typeLayout } from '../../gguf/ggml-types.ts';
import { f16Table, f32ToF16 } from '../../util/f16.ts';
import { HearthError } from '../../util/errors.ts';
import { DTYPE_BYTES, need, type AttentionOptions, type AttentionShape, type Backend, type DType, type MemoryReport, type MemoryUse, type Tensor,
  type WeightTensor } from '../backend.ts';
import { cacheRows, keyRange } from '../ref/attention-options.ts';
import { attention as refAttention } from '../ref/attention.ts';
import { getRow, matmul as refMatmul } from '../ref/matmul.ts';
import { checkIds, moeCombine as refMoeCombine, moeRoute as refMoeRoute, rowsByExpert } from '../ref/moe.ts';
import { rope } from '../ref/rope.ts';
import {
  CTL_PTR, EW_GEGLU, EW_GELU, EW_GELU_ERF, EW_LAYER_NORM, EW_SWIGLU, MAX_ARGS, OP_ATTENTION, OP_ELEMENTWISE, OP_MATMUL, SLOT,
} from './abi.ts';
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
  /** Bytes of wasm memory in use (the high-water mark of the heap). */
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
  storeF16(x: number, n: number, out: number): void;
  loadF16(h: number, n: number, out: number): void;
  rmsNorm(x: number, weight: number, eps: number, n: number, nTok: number, out: number): void;
  swiglu(gate: number, up: number, n: number): void;
  add(a: number, b: number, n: number): void;
  addBias(x: number, bias: number, n: number, nTok: number): void;
  layerNorm(x: number, weight: number, bias: number, eps: number, n: number, nTok: number, out: number): void;
  gelu(x: number, n: number): void;
  geglu(gate: number, up: number, n: number): void;
  geluErf(x: number, n: number): void;
  scale(x: number, s: number, n: number): void;
  softcap(x: number, invCap: number, cap: number, n: number): void;
  initConstants(): void;
}

/** Detaches a backend's memory from the pool once the backend is garbage-collected (dropped without dispose()). */
const orphanedLeases = new FinalizationRegistry<PoolLease>((lease) => lease.dispose());

/** Below this many multiply-adds an op runs on the calling thread alone (posting to workers costs ~10-50 µs). */
const MIN_PARALLEL_WORK = 1 << 18;
/** Element-wise ops (gelu, geglu, swiglu, layer norm) over fewer elements than this run on the calling thread. */
const MIN_PARALLEL_ELEMENTS = 1 << 15;
/** A matmul chunk's weight rows stay under this many bytes when several token tiles reuse them. */
const CHUNK_BYTES = 32 * 1024;
/**
 * From this many tokens on, attention over an f16 cache first decodes the cache's first nKv rows to f32 scratch
 * (exact) and runs the f32 kernel, since each row is read nTokens * nHead / nHeadKv times. Decoding halves in the
 * inner loop cost 13% of a 512-token prefill (2-layer 2048-wide Q8_0 model, 2 threads) and 3% of decode at a
 * 512-token context (1B-class Q4_K_M, 32 query / 4 KV heads: 7.08 vs 7.30 tok/s, three runs each), so even one
 * token takes the f32 path. The kernel can still read halves directly (args[13]); nothing asks for it now.
 */
const DECODE_KV_FROM_TOKENS = 1;

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

  const allocated = new Map<number, { bytes: number; use: MemoryUse }>();
  const inUse: MemoryReport = { weights: 0, kv: 0, scratch: 0 };
  function track(ptr: number, bytes: number, use: MemoryUse): void {
    allocated.set(ptr, { bytes, use });
    inUse[use] += bytes;
  }
  function untrack(ptr: number): void {
    const a = allocated.get(ptr)!;
    allocated.delete(ptr);
    inUse[a.use] -= a.bytes;
    heap.release(ptr, a.bytes);
  }
  const padded = (bytes: number) => Math.max(64, Math.ceil(bytes / 64) * 64);

  // Named scratch regions for the kernels' own temporaries, grown on demand (the old region is released). A region
  // grows by half again at least: one that follows the context (attention's f32 copy of the cache grows a row per
  // decoded token) would otherwise take a new region every step, and the heap only reuses a region of the same size.
  const scratch = new Map<string, number>();
  function region(name: string, bytes: number): number {
    const r = scratch.get(name);
    const had = r === undefined ? 0 : allocated.get(r)!.bytes;
    if (r !== undefined && had >= bytes) return r;
    if (r !== undefined) untrack(r);
    const size = had > 0 ? Math.max(bytes, Math.ceil(had * 1.5)) : bytes;
    const ptr = heap.alloc(size, `scratch for ${name}`);
    track(ptr, padded(size), 'scratch');
    scratch.set(name, ptr);
    return ptr;
  }

  function ptr(t: Tensor): number {
    if (!allocated.has(t.handle)) throw new HearthError('invalid_argument', `cpu: tensor ${t.handle} is not allocated (freed?)`);
    return t.handle + t.offset * DTYPE_BYTES[t.dtype];
  }
  function f32(t: Tensor, n = t.length): number {
    if (t.dtype !== 'f32') throw new HearthError('invalid_argument', 'cpu: this op takes an f32 tensor');
    need(t, n, 'cpu op');
    return ptr(t);
  }
  /** The first n floats of t as a view into the wasm memory (writes go through). */
  function f32View(t: Tensor, n = t.length): Float32Array {
    return heap.f32(f32(t, n), n);
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

  function matmul(w: WeightTensor, x: Tensor, nTokens: number, y: Tensor): void {
    matmulAt(w, f32(x, w.cols * nTokens), nTokens, f32(y, w.rows * nTokens));
  }

  /** y = w · x over nTokens rows, x and y given as pointers into the wasm memory. */
  function matmulAt(w: WeightTensor, xp: number, nTokens: number, yp: number): void {
    const { cols, rows, type } = w;
    const kind = actKind(type);
    const layout = typeLayout(type);
    if (!kind || !layout || cols % layout.blockSize !== 0) {
      refMatmul(w, heap.f32(xp, cols * nTokens), nTokens, heap.f32(yp, rows * nTokens), true);
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
    const [act, stride] = quantizeActivations(kind, xp, cols, nTokens);
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
  }

  /**
   * The experts' matmuls, batched by expert: the rows routed to expert e are gathered into scratch, multiplied in
   * one matmul by the wasm kernels, and scattered to their output rows.
   */
  function matmulId(experts: readonly WeightTensor[], x: Tensor, src: Int32Array, ids: Int32Array, y: Tensor): void {
    checkIds(experts.length, src, ids);
    const { cols, rows } = experts[0];
    const xp = f32(x);
    const yp = f32(y, ids.length * rows);
    for (const r of src) {
      if (!Number.isInteger(r) || r < 0 || (r + 1) * cols > x.length) throw new HearthError('invalid_argument', `matmulId: source row ${r} is outside the input`);
    }
    const byExpert = rowsByExpert(experts.length, ids);
    const most = byExpert.reduce((m, r) => Math.max(m, r.length), 0);
    if (most === 0) return;
    const gp = region('experts input rows', most * cols * 4);
    const op = region('experts output rows', most * rows * 4);
    byExpert.forEach((out, e) => {
      if (out.length === 0) return;
      if (out.length === 1) {
        // one row (every expert at decode): multiply it where it lies
        matmulAt(experts[e], xp + src[out[0]] * cols * 4, 1, yp + out[0] * rows * 4);
        return;
      }
      const xs = heap.f32(xp, x.length);
      const gathered = heap.f32(gp, out.length * cols);
      out.forEach((i, r) => gathered.set(xs.subarray(src[i] * cols, (src[i] + 1) * cols), r * cols));
      matmulAt(experts[e], gp, out.length, op);
      const ys = heap.f32(yp, ids.length * rows);
      const got = heap.f32(op, out.length * rows);
      out.forEach((i, r) => ys.set(got.subarray(r * rows, (r + 1) * rows), i * rows));
    });
  }

  function attention(q: Tensor, kCache: Tensor, vCache: Tensor, nTokens: number, pos0: number, s: AttentionShape, out: Tensor,
    o: AttentionOptions = {}): void {
    const { nHead, nHeadKv, headDim } = s;
    const n = nTokens * nHead * headDim;
    const nAll = pos0 + nTokens;
    const kvN = cacheRows(nAll, o) * nHeadKv * headDim;
    if (kCache.dtype !== vCache.dtype) throw new HearthError('invalid_argument', 'attention: K and V caches differ in type');
    need(kCache, kvN, 'attention K cache');
    need(vCache, kvN, 'attention V cache');
    const qp = f32(q, n);
    const op = f32(out, n);
    const kvF16 = kCache.dtype === 'f16';
    const ring = o.ring?.size ?? 0;
    if (o.ring && (!Number.isInteger(ring) || ring < 1)) throw new HearthError('invalid_argument', `attention: a ring of ${ring} rows`);
    if (o.window !== undefined && (!Number.isInteger(o.window) || o.window < 1)) {
      throw new HearthError('invalid_argument', `attention: a window of ${o.window} positions`);
    }
    if (o.softcap !== undefined && !(o.softcap > 0)) throw new HearthError('invalid_argument', `attention: a soft-cap of ${o.softcap}`);
    if (headDim % 4 !== 0 || nHead % nHeadKv !== 0) {
      const cache = (t: Tensor) => (kvF16 ? new Uint16Array(heap.buffer, ptr(t), kvN) : heap.f32(ptr(t), kvN));
      refAttention(heap.f32(qp, n), cache(kCache), cache(vCache), nTokens, pos0, s, heap.f32(op, n), o);
      return;
    }
    // the widest key range of any query; with a ring, the first query's keys must still be there
    const [lo0] = keyRange(pos0, nAll, o);
    if (ring > 0 && lo0 < nAll - ring) {
      throw new HearthError('invalid_argument', `attention: position ${pos0} needs key ${lo0}, which a ring of ${ring} rows ` +
        `no longer holds after position ${nAll - 1} (split the batch)`);
    }
    const maxKeys = o.window !== undefined ? Math.min(nAll, o.window + nTokens) : nAll;
    let kp = ptr(kCache);
    let vp = ptr(vCache);
    let halves = kvF16;
    if (kvF16 && nTokens >= DECODE_KV_FROM_TOKENS) {
      const kf = region('attention K as f32', kvN * 4);
      const vf = region('attention V as f32', kvN * 4);
      ex.loadF16(kp, kvN, kf);
      ex.loadF16(vp, kvN, vf);
      [kp, vp, halves] = [kf, vf, false];
    }
    // + 4: the soft-cap pass runs whole vectors over the scores
    const perThread = Math.ceil(((headDim + maxKeys + 4) * 4) / 64) * 64;
    const work = nTokens * nHead * maxKeys * headDim;
    const nth = work < minWork ? 1 : pool.size;
    const sp = region('attention scores', perThread * nth);
    args[0] = qp;
    args[1] = kp;
    args[2] = vp;
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
    args[13] = halves ? 1 : 0;
    args[14] = (o.causal ?? true) ? 1 : 0;
    args[15] = o.window ?? 0;
    argsF[16] = o.softcap ?? 0;
    args[17] = ring;
    pool.dispatch(OP_ATTENTION, nth);
  }

  /**
   * An element-wise op (EW_*) over n elements at a (and b), on every thread of the pool when n is large:
   * chunks are multiples of 4 elements, so each element runs the same vector or tail code as on one thread.
   */
  function elementwise(kind: number, a: number, b: number, n: number, single: () => void): void {
    if (n < MIN_PARALLEL_ELEMENTS || pool.size === 1) return single();
    const nth = pool.size;
    args[0] = kind;
    args[1] = a;
    args[2] = b;
    args[3] = n;
    args[4] = Math.max(4096, Math.ceil(n / (nth * 8) / 4) * 4);
    pool.dispatch(OP_ELEMENTWISE, nth);
  }

  /** Copy f32 src into dst (same length), as half bits when dst is f16. */
  function store(src: Tensor, dst: Tensor): void {
    const n = dst.length;
    const sp = f32(src, n);
    if (dst.dtype === 'f16') ex.storeF16(sp, n, ptr(dst));
    else heap.f32(ptr(dst), n).set(heap.f32(sp, n));
  }

  const backend: CpuBackend = {
    name: 'cpu',
    threads,
    relaxed: km.relaxed,
    get memoryBytes() {
      return heap.used;
    },
    hasKernel: (type) => actKind(type) !== undefined,
    allocWeight(bytes) {
      const p = heap.alloc(bytes, 'model weights');
      track(p, padded(bytes), 'weights');
      return heap.bytes(p, bytes);
    },
    adoptWeight: (w) => w,
    alloc(n: number, dtype: DType, use: MemoryUse): Tensor {
      const bytes = n * DTYPE_BYTES[dtype];
      const p = heap.alloc(bytes, use === 'kv' ? 'the KV cache' : use === 'weights' ? 'model weights' : 'activations');
      track(p, padded(bytes), use);
      return { handle: p, offset: 0, length: n, dtype };
    },
    upload(t, data) {
      need(t, 0, 'upload');
      const n = Math.min(t.length, data.length);
      if (t.dtype === 'f32') heap.f32(ptr(t), n).set(data.subarray(0, n));
      else {
        const h = new Uint16Array(heap.buffer, ptr(t), n);
        for (let i = 0; i < n; i++) h[i] = f32ToF16(data[i]);
      }
    },
    read(t) {
      if (t.dtype === 'f32') return heap.f32(ptr(t), t.length).slice();
      const tab = f16Table();
      return Float32Array.from(new Uint16Array(heap.buffer, ptr(t), t.length), (h) => tab[h]);
    },
    free(t) {
      if (t.offset !== 0 || !allocated.has(t.handle)) throw new HearthError('invalid_argument', `cpu: tensor ${t.handle} is not an allocation (freed twice?)`);
      untrack(t.handle);
    },
    submit: () => {},
    memory: () => ({ ...inUse }),
    getRows(w, ids, out) {
      const o = f32View(out, ids.length * w.cols);
      ids.forEach((id, t) => getRow(w, id, o.subarray(t * w.cols, (t + 1) * w.cols)));
    },
    matmul,
    rmsNorm(x, weight, eps, n, nTokens, out) {
      ex.rmsNorm(f32(x, n * nTokens), f32(weight, n), eps, n, nTokens, f32(out, n * nTokens));
    },
    rope: (x, nTokens, nHead, headDim, positions, p) => rope(f32View(x, nTokens * nHead * headDim), nTokens, nHead, headDim, positions, p),
    kvStore(k, v, kCache, vCache) {
      store(k, kCache);
      store(v, vCache);
    },
    attention,
    swiglu(gate, up, n) {
      const g = f32(gate, n);
      const u = f32(up, n);
      elementwise(EW_SWIGLU, g, u, n, () => ex.swiglu(g, u, n));
    },
    add: (a, b, n) => ex.add(f32(a, n), f32(b, n), n),
    addBias: (x, bias, n, nTokens) => ex.addBias(f32(x, n * nTokens), f32(bias, n), n, nTokens),
    layerNorm(x, weight, bias, eps, n, nTokens, out) {
      const xp = f32(x, n * nTokens);
      const wp = weight ? f32(weight, n) : 0;
      const bp = bias ? f32(bias, n) : 0;
      const op = f32(out, n * nTokens);
      if (n * nTokens < MIN_PARALLEL_ELEMENTS || nTokens < 2 || pool.size === 1) {
        ex.layerNorm(xp, wp, bp, eps, n, nTokens, op);
        return;
      }
      const nth = pool.size;
      args[0] = EW_LAYER_NORM;
      args[1] = xp;
      args[2] = op;
      args[3] = nTokens;
      args[4] = Math.max(1, Math.ceil(nTokens / (nth * 4)));
      args[5] = wp;
      args[6] = bp;
      argsF[7] = eps;
      args[8] = n;
      pool.dispatch(OP_ELEMENTWISE, nth);
    },
    gelu(x, n) {
      const p = f32(x, n);
      elementwise(EW_GELU, p, 0, n, () => ex.gelu(p, n));
    },
    geluErf(x, n) {
      const p = f32(x, n);
      elementwise(EW_GELU_ERF, p, 0, n, () => ex.geluErf(p, n));
    },
    geglu(gate, up, n) {
      const g = f32(gate, n);
      const u = f32(up, n);
      elementwise(EW_GEGLU, g, u, n, () => ex.geglu(g, u, n));
    },
    scale: (x, s, n) => ex.scale(f32(x, n), s, n),
    softcap(x, cap, n) {
      if (!(cap > 0)) throw new HearthError('invalid_argument', `softcap: the cap must be positive, got ${cap}`);
      ex.softcap(f32(x, n), Math.fround(1 / Math.fround(cap)), cap, n);
    },
    moeRoute: (logits, nTokens, nExpert, nUsed, normalize) =>
      refMoeRoute(f32View(logits, nTokens * nExpert), nTokens, nExpert, nUsed, normalize),
    matmulId,
    moeCombine(experts, weights, nTokens, nUsed, n, out) {
      refMoeCombine(f32View(experts, nTokens * nUsed * n), weights, nTokens, nUsed, n, f32View(out, nTokens * n));
    },
    dispose: () => pool.dispose(),
  };
  orphanedLeases.register(backend, pool);
  return backend;
}
