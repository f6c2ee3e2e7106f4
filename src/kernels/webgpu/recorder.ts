// Records a sequence of kernel dispatches (a whole forward pass, or one op in a test) into one command buffer.
// Each dispatch's parameters take a slot in one uniform buffer written just before submit, so a pass costs one
// writeBuffer for all its parameters; bind groups are built at submit time, once that buffer exists.
// Activation offsets travel in the parameters rather than as binding offsets (which must be 256-byte aligned).

/// <reference types="@webgpu/types" />

import { HearthError } from '../../util/errors.ts';
import type { KernelSet } from './kernel-set.ts';
import type { GpuWeight } from './weights.ts';
import { GET_ROWS_WG, MATMUL_TT } from './shaders/matmul.ts';
import { MAX_HEAD_DIM, kvStoreInvocations, type KvStorage } from './shaders/attention.ts';

/** 16 words: every uniform struct here is smaller. */
const PARAM_BYTES = 64;

interface Step {
  pipeline: GPUComputePipeline;
  buffers: GPUBuffer[];
  params: Uint32Array;
  groups: [number, number, number];
}

/** A KV cache of one layer on the GPU: [nCtx, kvDim] for K and V. */
export interface GpuKv {
  k: GPUBuffer;
  v: GPUBuffer;
  kind: KvStorage;
}

export interface AttentionDims {
  nHead: number;
  nHeadKv: number;
  headDim: number;
  scale: number;
}

/** u32 words first, then f32 words (the order of every struct P). */
function params(u32s: readonly number[], f32s: readonly number[] = []): Uint32Array {
  const out = new Uint32Array(u32s.length + f32s.length);
  out.set(u32s);
  new Float32Array(out.buffer, u32s.length * 4).set(f32s);
  return out;
}

export class Recorder {
  private readonly ks: KernelSet;
  private readonly steps: (Step | { copy: [GPUBuffer, number, GPUBuffer, number, number] })[] = [];
  private readonly maxDim: number;

  constructor(ks: KernelSet) {
    this.ks = ks;
    this.maxDim = ks.gd.limits.maxComputeWorkgroupsPerDimension;
  }

  /** A 2-D grid holding n workgroups (x wraps at the per-dimension limit). */
  private grid(n: number): [number, number] {
    const x = Math.max(1, Math.min(n, this.maxDim));
    return [x, Math.ceil(n / x)];
  }

  dispatch(pipeline: GPUComputePipeline, buffers: GPUBuffer[], p: Uint32Array, groups: [number, number, number]): void {
    if (groups.some((g) => g > this.maxDim)) throw new HearthError('internal', `webgpu: dispatch of ${groups} workgroups exceeds the limit`);
    if (groups.some((g) => g === 0)) return;
    this.steps.push({ pipeline, buffers, params: p, groups });
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.steps.push({ copy: [src, srcOffset, dst, dstOffset, bytes] });
  }

  /** y[t, :] (at yOff, row stride yStride) = W x[t, :] (at xOff, row stride w.cols), per part of W. */
  matmul(w: GpuWeight, x: GPUBuffer, xOff: number, nTok: number, y: GPUBuffer, yOff: number, yStride = w.rows): void {
    const pipe = this.ks.matmul(w.type);
    const tiles = Math.ceil(nTok / MATMUL_TT);
    for (const part of w.parts) {
      const [gx, gy] = this.grid(part.rows);
      this.dispatch(pipe, [part.buffer, x, y],
        params([part.rows, w.cols, nTok, w.rowBytes, xOff, w.cols, yOff, yStride, part.row0, gx]), [gx, gy, tiles]);
    }
  }

  /** out[t, :] = row ids[t] of W, decoded to f32. */
  getRows(w: GpuWeight, ids: GPUBuffer, nTok: number, out: GPUBuffer, outOff: number): void {
    const pipe = this.ks.getRows(w.type);
    const chunks = Math.ceil(w.cols / 32);
    for (const part of w.parts) {
      this.dispatch(pipe, [part.buffer, ids, out],
        params([nTok, w.cols, w.rowBytes, part.row0, part.rows, outOff, w.cols, chunks]), [Math.ceil(chunks / GET_ROWS_WG), nTok, 1]);
    }
  }

  rmsNorm(x: GPUBuffer, xOff: number, weight: GPUBuffer, eps: number, n: number, nRows: number, out: GPUBuffer, outOff: number): void {
    const [gx, gy] = this.grid(nRows);
    this.dispatch(this.ks.rmsNorm(), [x, weight, out], params([n, nRows, xOff, outOff, gx], [eps]), [gx, gy, 1]);
  }

  /** Rotate x [nTok, nHead, headDim] in place with table [nTok, nRot/2] of (cos, sin). */
  rope(x: GPUBuffer, xOff: number, nTok: number, nHead: number, headDim: number, nRot: number, neox: boolean, table: GPUBuffer): void {
    const half = nRot / 2;
    const [gx, gy] = this.grid(Math.ceil((nTok * nHead * half) / 64));
    this.dispatch(this.ks.rope(), [x, table], params([nTok, nHead, headDim, half, neox ? 1 : 0, xOff, gx]), [gx, gy, 1]);
  }

  swiglu(gate: GPUBuffer, up: GPUBuffer, n: number): void {
    const [gx, gy] = this.grid(Math.ceil(n / 64));
    this.dispatch(this.ks.swiglu(), [gate, up], params([n, gx]), [gx, gy, 1]);
  }

  add(a: GPUBuffer, aOff: number, b: GPUBuffer, bOff: number, n: number): void {
    const [gx, gy] = this.grid(Math.ceil(n / 64));
    this.dispatch(this.ks.add(), [a, b], params([n, aOff, bOff, gx]), [gx, gy, 1]);
  }

  addBias(x: GPUBuffer, xOff: number, bias: GPUBuffer, n: number, nTok: number): void {
    const [gx, gy] = this.grid(Math.ceil((n * nTok) / 64));
    this.dispatch(this.ks.addBias(), [x, bias], params([n, nTok, xOff, gx]), [gx, gy, 1]);
  }

  /** Append n elements of K and V (from k/v at srcOff) to a cache at element dstOff. */
  kvStore(k: GPUBuffer, v: GPUBuffer, srcOff: number, n: number, cache: GpuKv, dstOff: number): void {
    const [gx, gy] = this.grid(Math.ceil(kvStoreInvocations(cache.kind, n) / 64));
    this.dispatch(this.ks.kvStore(cache.kind), [k, cache.k, cache.v, v], params([n, srcOff, dstOff, gx]), [gx, gy, 1]);
  }

  /** out = attention of q [nTok, nHead, headDim] over cache positions 0..pos0+t. */
  attention(q: GPUBuffer, qOff: number, cache: GpuKv, nTok: number, pos0: number, d: AttentionDims, out: GPUBuffer, outOff: number): void {
    if (d.headDim > MAX_HEAD_DIM) throw new HearthError('unsupported_type', `webgpu: head dimension ${d.headDim} exceeds ${MAX_HEAD_DIM}`);
    this.dispatch(this.ks.attention(cache.kind), [q, cache.k, cache.v, out],
      params([nTok, pos0, d.nHead, d.nHeadKv, d.headDim, d.nHeadKv * d.headDim, qOff, outOff], [d.scale]), [d.nHead, nTok, 1]);
  }

  /** Encode and submit everything recorded. */
  submit(): void {
    const ks = this.ks;
    const device = ks.device;
    const U = ks.gd.usage.buffer;
    const stride = Math.max(256, ks.gd.limits.minUniformBufferOffsetAlignment);
    const dispatches = this.steps.filter((s): s is Step => 'pipeline' in s);
    let uniform: GPUBuffer | undefined;
    if (dispatches.length) {
      const arena = new Uint8Array(stride * dispatches.length);
      dispatches.forEach((s, i) => arena.set(new Uint8Array(s.params.buffer, s.params.byteOffset, s.params.byteLength), i * stride));
      uniform = device.createBuffer({ size: arena.byteLength, usage: U.UNIFORM | U.COPY_DST, label: 'params' });
      device.queue.writeBuffer(uniform, 0, arena);
    }
    const enc = device.createCommandEncoder();
    let pass: GPUComputePassEncoder | undefined;
    let slot = 0;
    for (const s of this.steps) {
      if ('copy' in s) {
        pass?.end();
        pass = undefined;
        enc.copyBufferToBuffer(...s.copy);
        continue;
      }
      pass ??= enc.beginComputePass();
      const entries: GPUBindGroupEntry[] = s.buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
      entries.push({ binding: entries.length, resource: { buffer: uniform!, offset: slot * stride, size: PARAM_BYTES } });
      slot++;
      pass.setPipeline(s.pipeline);
      pass.setBindGroup(0, device.createBindGroup({ layout: s.pipeline.getBindGroupLayout(0), entries }));
      pass.dispatchWorkgroups(...s.groups);
    }
    pass?.end();
    device.queue.submit([enc.finish()]);
    this.steps.length = 0;
    // The uniform buffer is only released after the GPU is done with it.
    if (uniform) void device.queue.onSubmittedWorkDone().then(() => uniform.destroy());
  }
}
