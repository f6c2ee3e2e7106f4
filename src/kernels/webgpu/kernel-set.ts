// Pipelines, built lazily from the WGSL templates and cached per (op, type, variant), plus the buffer plumbing
// every user of the kernels needs: storage buffers from host data, read-back, and error scopes that turn
// WebGPU's asynchronous validation and out-of-memory errors into HearthErrors.

/// <reference types="@webgpu/types" />

import { HearthError } from '../../util/errors.ts';
import { typeName } from '../../gguf/ggml-types.ts';
import type { GpuDevice } from './gpu-device.ts';
import { quantDecl } from './shaders/quant-decls.ts';
import { getRowsShader, matmulShader } from './shaders/matmul.ts';
import { ADD, ADD_BIAS, RMS_NORM, ROPE, SWIGLU } from './shaders/ops.ts';
import { attentionShader, kvStoreShader, type KvStorage } from './shaders/attention.ts';

export class KernelSet {
  readonly gd: GpuDevice;
  readonly device: GPUDevice;
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(gd: GpuDevice) {
    this.gd = gd;
    this.device = gd.device;
  }

  private pipeline(key: string, code: () => string): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code: code(), label: key });
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
      this.pipelines.set(key, p);
    }
    return p;
  }

  private declOf(type: number) {
    const d = quantDecl(type);
    if (!d) throw new HearthError('internal', `webgpu: no kernel for ${typeName(type)} (it should have been converted on upload)`);
    return d;
  }

  matmul(type: number): GPUComputePipeline {
    const sg = this.gd.caps.subgroups;
    return this.pipeline(`matmul_${typeName(type)}${sg ? '_sg' : ''}`, () => matmulShader(this.declOf(type), { subgroups: sg }));
  }

  getRows(type: number): GPUComputePipeline {
    return this.pipeline(`get_rows_${typeName(type)}`, () => getRowsShader(this.declOf(type)));
  }

  rmsNorm(): GPUComputePipeline { return this.pipeline('rms_norm', () => RMS_NORM); }
  rope(): GPUComputePipeline { return this.pipeline('rope', () => ROPE); }
  swiglu(): GPUComputePipeline { return this.pipeline('swiglu', () => SWIGLU); }
  add(): GPUComputePipeline { return this.pipeline('add', () => ADD); }
  addBias(): GPUComputePipeline { return this.pipeline('add_bias', () => ADD_BIAS); }
  attention(kind: KvStorage): GPUComputePipeline { return this.pipeline(`attention_${kind}`, () => attentionShader(kind)); }
  kvStore(kind: KvStorage): GPUComputePipeline { return this.pipeline(`kv_store_${kind}`, () => kvStoreShader(kind)); }

  /** How the KV cache is stored: f16 values in f16 storage when the device has it, packed pairs otherwise. */
  kvStorage(f16: boolean): KvStorage {
    return !f16 ? 'f32' : this.gd.caps.f16 ? 'f16' : 'f16p';
  }

  /** A storage buffer of at least `bytes` (rounded up to 4, plus 4 bytes of slack for unaligned word reads). */
  storage(bytes: number, label: string, extraUsage = 0): GPUBuffer {
    const U = this.gd.usage.buffer;
    const size = Math.max(16, align4(bytes) + 4);
    if (size > this.gd.limits.maxBufferSize || size - 4 > this.gd.limits.maxStorageBufferBindingSize) {
      throw new HearthError('out_of_memory',
        `webgpu: ${label} needs ${bytes} bytes in one binding; this adapter allows ${this.gd.limits.maxStorageBufferBindingSize}`);
    }
    return this.device.createBuffer({ size, usage: U.STORAGE | U.COPY_DST | U.COPY_SRC | extraUsage, label });
  }

  /** Upload host data into a new storage buffer. */
  upload(data: ArrayBufferView, label: string): GPUBuffer {
    const buf = this.storage(data.byteLength, label);
    this.write(buf, 0, data);
    return buf;
  }

  /** queue.writeBuffer, padding a length that is not a multiple of 4. */
  write(buf: GPUBuffer, offset: number, data: ArrayBufferView): void {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const whole = bytes.byteLength & ~3;
    if (whole) this.device.queue.writeBuffer(buf, offset, bytes.buffer, bytes.byteOffset, whole);
    if (whole < bytes.byteLength) {
      const tail = new Uint8Array(4);
      tail.set(bytes.subarray(whole));
      this.device.queue.writeBuffer(buf, offset + whole, tail);
    }
  }

  /** Copy `bytes` from a buffer (after everything submitted so far) to the host. */
  async read(buf: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    const U = this.gd.usage.buffer;
    const size = align4(bytes);
    const staging = this.device.createBuffer({ size, usage: U.MAP_READ | U.COPY_DST, label: 'readback' });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(buf, offset, staging, 0, size);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(this.gd.usage.map.READ);
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    return out;
  }

  async readF32(buf: GPUBuffer, offsetElems: number, n: number): Promise<Float32Array> {
    return new Float32Array(await this.read(buf, offsetElems * 4, n * 4));
  }

  /** Run `fn` under validation and out-of-memory error scopes; their errors become HearthErrors. */
  async checked<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    let result: T;
    try {
      result = await fn();
    } finally {
      const validation = await this.device.popErrorScope();
      const oom = await this.device.popErrorScope();
      if (oom) throw new HearthError('out_of_memory', `webgpu: ${what}: the device ran out of memory (${oom.message})`);
      if (validation) throw new HearthError('internal', `webgpu: ${what}: ${validation.message}`);
    }
    return result;
  }
}

export function align4(n: number): number {
  return (n + 3) & ~3;
}
