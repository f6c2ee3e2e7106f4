// The Backend on a WebGPU device, for wherever the device lives (a browser, or the Node worker of host.ts).
// A tensor handle names a GPUBuffer; ops are recorded (recorder.ts) and submitted as one command buffer at the
// next read or submit, so a whole forward pass is one submission. Reads complete asynchronously (mapAsync):
// read() returns a Promise. Weights are uploaded once by adoptWeight (kept packed where a kernel exists, else
// converted, weights.ts); f16 tensors (the KV cache) are f16 storage or packed f16 pairs, by the device's caps.
// Buffers a recorded op reads from the host (token ids, RoPE angles) are made per pass and freed after it.

/// <reference types="@webgpu/types" />

import { HearthError } from '../../util/errors.ts';
import { f16Table, f32ToF16 } from '../../util/f16.ts';
import { DTYPE_BYTES, need, type Backend, type DType, type MemoryReport, type MemoryUse, type Tensor, type WeightTensor } from '../backend.ts';
import { isPlainCausal } from '../ref/attention-options.ts';
import { checkIds } from '../ref/moe.ts';
import type { RopeParams } from '../ref/rope.ts';
import type { GpuDevice } from './gpu-device.ts';
import { KernelSet, align4 } from './kernel-set.ts';
import { Recorder, type GpuKv } from './recorder.ts';
import { ropeTable } from './rope-table.ts';
import { destroyWeight, uploadWeight, type GpuWeight, type Notice } from './weights.ts';

export interface GpuBackend extends Backend {
  readonly name: 'webgpu';
  readonly ks: KernelSet;
  read(t: Tensor): Promise<Float32Array>;
  /** The device-side weight of an adopted WeightTensor. */
  gpuWeight(w: WeightTensor): GpuWeight;
  /** Run fn under the device's error scopes: validation and out-of-memory errors become HearthErrors. */
  checked<T>(what: string, fn: () => T | Promise<T>): Promise<T>;
}

const EMPTY = new Uint8Array(0);

/** Ops without a WGSL kernel yet: the Node host (host.ts) runs them on the reference kernels instead. */
function hostOnly(what: string): never {
  throw new HearthError('unsupported_type', `webgpu: ${what} has no GPU kernel yet; the host runs it on the reference (host.ts)`);
}

export function createGpuBackend(gd: GpuDevice, notice: Notice = () => {}): GpuBackend {
  const ks = new KernelSet(gd);
  let rec = new Recorder(ks);
  let pending = false;
  const buffers = new Map<number, { buffer: GPUBuffer; bytes: number; use: MemoryUse }>();
  const weights = new WeakMap<WeightTensor, GpuWeight>();
  const allWeights = new Set<GpuWeight>();
  const inUse: MemoryReport = { weights: 0, kv: 0, scratch: 0 };
  let nextHandle = 1;
  /** Buffers made for the ops recorded since the last submit, freed once it is done. */
  let transient: GPUBuffer[] = [];
  let lastRope: { positions: Int32Array; p: RopeParams; table: GPUBuffer } | undefined;

  function buf(t: Tensor): GPUBuffer {
    const b = buffers.get(t.handle);
    if (!b) throw new HearthError('invalid_argument', `webgpu: tensor ${t.handle} is not allocated (freed?)`);
    return b.buffer;
  }
  function f32(t: Tensor, n: number, what: string): GPUBuffer {
    if (t.dtype !== 'f32') throw new HearthError('invalid_argument', `webgpu: ${what} takes an f32 tensor`);
    need(t, n, what);
    return buf(t);
  }
  /** Ops whose kernels take no element offset for this operand. */
  function whole(t: Tensor, what: string): void {
    if (t.offset !== 0) throw new HearthError('internal', `webgpu: ${what} must start at element 0 of its buffer`);
  }
  function kvOf(k: Tensor, v: Tensor): GpuKv {
    if (k.dtype !== v.dtype) throw new HearthError('invalid_argument', 'webgpu: K and V caches differ in type');
    return { k: buf(k), v: buf(v), kind: ks.kvStorage(k.dtype === 'f16') };
  }
  function weight(w: WeightTensor): GpuWeight {
    const g = weights.get(w);
    if (!g) throw new HearthError('internal', `webgpu: ${w.name} was not adopted by this backend`);
    return g;
  }
  function record(): Recorder {
    pending = true;
    return rec;
  }
  function submit(): void {
    if (!pending) return;
    rec.submit();
    rec = new Recorder(ks);
    pending = false;
    lastRope = undefined;
    const done = transient;
    transient = [];
    if (done.length) void ks.device.queue.onSubmittedWorkDone().then(() => { for (const b of done) b.destroy(); });
  }
  function hostBuffer(data: ArrayBufferView, label: string): GPUBuffer {
    const b = ks.upload(data, label);
    transient.push(b);
    return b;
  }

  const backend: GpuBackend = {
    name: 'webgpu',
    ks,
    allocWeight: (bytes) => new Uint8Array(bytes),
    adoptWeight(w) {
      const g = uploadWeight(ks, w, notice);
      const adopted: WeightTensor = { name: w.name, type: w.type, cols: w.cols, rows: w.rows, data: EMPTY };
      weights.set(adopted, g);
      allWeights.add(g);
      inUse.weights += g.bytes;
      return adopted;
    },
    gpuWeight: weight,
    alloc(n: number, dtype: DType, use: MemoryUse): Tensor {
      const bytes = n * DTYPE_BYTES[dtype];
      const handle = nextHandle++;
      // storage() rounds up to 4 bytes and adds 4 of slack; WebGPU zero-fills new buffers
      const buffer = ks.storage(bytes, `${use} #${handle}`);
      buffers.set(handle, { buffer, bytes: buffer.size, use });
      inUse[use] += buffer.size;
      return { handle, offset: 0, length: n, dtype };
    },
    upload(t, data) {
      submit(); // ops recorded earlier see the old contents
      const n = Math.min(t.length, data.length);
      if (t.dtype === 'f32') {
        ks.write(buf(t), t.offset * 4, data.subarray(0, n));
        return;
      }
      if (t.offset % 2 !== 0) throw new HearthError('invalid_argument', 'webgpu: an f16 upload must start at an even element');
      ks.write(buf(t), t.offset * 2, Uint16Array.from(data.subarray(0, n), f32ToF16));
    },
    async read(t) {
      const b = buf(t);
      submit();
      if (t.dtype === 'f32') return ks.readF32(b, t.offset, t.length);
      // f16 storage and packed f16 pairs both lay the halves out in element order
      if (t.offset % 2 !== 0) throw new HearthError('invalid_argument', 'webgpu: an f16 read must start at an even element');
      const tab = f16Table();
      return Float32Array.from(new Uint16Array(await ks.read(b, t.offset * 2, align4(t.length * 2)), 0, t.length), (h) => tab[h]);
    },
    submit,
    free(t) {
      const b = buffers.get(t.handle);
      if (!b || t.offset !== 0) throw new HearthError('invalid_argument', `webgpu: tensor ${t.handle} is not an allocation (freed twice?)`);
      submit(); // recorded ops may still use it; a buffer destroyed after submit lives until the GPU is done
      buffers.delete(t.handle);
      inUse[b.use] -= b.bytes;
      b.buffer.destroy();
    },
    memory: () => ({ ...inUse }),
    checked: (what, fn) => ks.checked(what, fn),

    getRows(w, ids, out) {
      const o = f32(out, ids.length * w.cols, 'getRows output');
      record().getRows(weight(w), hostBuffer(Uint32Array.from(ids), 'ids'), ids.length, o, out.offset);
    },
    matmul(w, x, nTokens, y) {
      record().matmul(weight(w), f32(x, w.cols * nTokens, 'matmul input'), x.offset, nTokens,
        f32(y, w.rows * nTokens, 'matmul output'), y.offset);
    },
    rmsNorm(x, w, eps, n, nTokens, out) {
      whole(w, 'the rmsnorm weight');
      record().rmsNorm(f32(x, n * nTokens, 'rmsnorm input'), x.offset, f32(w, n, 'rmsnorm weight'), eps, n, nTokens,
        f32(out, n * nTokens, 'rmsnorm output'), out.offset);
    },
    rope(x, nTokens, nHead, headDim, positions, p) {
      // q and k of every layer share one angle table per pass
      if (!lastRope || lastRope.positions !== positions || lastRope.p !== p) {
        lastRope = { positions, p, table: hostBuffer(ropeTable(p, positions), 'rope') };
      }
      record().rope(f32(x, nTokens * nHead * headDim, 'rope input'), x.offset, nTokens, nHead, headDim, p.nRot, p.order === 'neox', lastRope.table);
    },
    kvStore(k, v, kCache, vCache) {
      if (k.offset !== v.offset || kCache.offset !== vCache.offset || k.length !== kCache.length || v.length !== vCache.length) {
        throw new HearthError('internal', 'webgpu: kvStore takes K and V rows at the same offsets');
      }
      const kv = kvOf(kCache, vCache);
      if (kv.kind === 'f16p' && (kCache.offset % 2 !== 0 || k.length % 2 !== 0)) {
        throw new HearthError('unsupported_type', 'webgpu: a packed f16 cache needs an even K/V width');
      }
      record().kvStore(f32(k, k.length, 'K rows'), f32(v, v.length, 'V rows'), k.offset, k.length, kv, kCache.offset);
    },
    attention(q, kCache, vCache, nTokens, pos0, s, out, o) {
      if (!isPlainCausal(o)) hostOnly('attention with options (non-causal, window, soft-cap, ring)');
      whole(kCache, 'the K cache');
      whole(vCache, 'the V cache');
      const n = nTokens * s.nHead * s.headDim;
      need(kCache, (pos0 + nTokens) * s.nHeadKv * s.headDim, 'attention K cache');
      record().attention(f32(q, n, 'attention query'), q.offset, kvOf(kCache, vCache), nTokens, pos0,
        { nHead: s.nHead, nHeadKv: s.nHeadKv, headDim: s.headDim, scale: s.scale }, f32(out, n, 'attention output'), out.offset);
    },
    swiglu(gate, up, n) {
      whole(gate, 'swiglu gate');
      whole(up, 'swiglu up');
      record().swiglu(f32(gate, n, 'swiglu gate'), f32(up, n, 'swiglu up'), n);
    },
    add(a, b, n) {
      record().add(f32(a, n, 'add'), a.offset, f32(b, n, 'add'), b.offset, n);
    },
    layerNorm: () => hostOnly('layerNorm'),
    gelu: () => hostOnly('gelu'),
    geluErf: () => hostOnly('geluErf'),
    geglu: () => hostOnly('geglu'),
    scale: () => hostOnly('scale'),
    softcap: () => hostOnly('softcap'),
    moeRoute: () => hostOnly('moeRoute'),
    matmulId(experts, x, src, ids, y) {
      // one matmul per routed row, not yet batched by expert
      checkIds(experts.length, src, ids);
      const { cols, rows } = experts[0];
      const xb = f32(x, x.length, 'matmulId input');
      const yb = f32(y, ids.length * rows, 'matmulId output');
      const r = record();
      ids.forEach((e, i) => r.matmul(weight(experts[e]), xb, x.offset + src[i] * cols, 1, yb, y.offset + i * rows));
    },
    moeCombine: () => hostOnly('moeCombine'),
    addBias(x, bias, n, nTokens) {
      whole(bias, 'the bias');
      record().addBias(f32(x, n * nTokens, 'addBias input'), x.offset, f32(bias, n, 'bias'), n, nTokens);
    },
    dispose() {
      submit();
      for (const b of buffers.values()) b.buffer.destroy();
      buffers.clear();
      for (const g of allWeights) destroyWeight(g);
      allWeights.clear();
      inUse.weights = inUse.kv = inUse.scratch = 0;
    },
  };
  return backend;
}
