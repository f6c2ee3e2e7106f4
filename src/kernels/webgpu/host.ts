// The webgpu backend in Node. GPU work completes asynchronously (mapAsync), while the engine's Backend and
// forward-pass contract is synchronous. The device therefore lives in a worker thread (worker.ts) that runs whole
// forward passes; the calling thread posts a request and blocks in Atomics.wait until the reply is there
// (forwardBatch, so Context.eval, evalBatch, embed and the scheduler work unchanged), or awaits it with
// Atomics.waitAsync (forwardBatchAsync, which leaves the event loop free). Only token ids go in and logits
// come out; weights cross once, at load, and are moved rather than copied.

import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort, type Transferable } from 'node:worker_threads';
import { HearthError, type ErrorCode } from '../../util/errors.ts';
import type { Backend } from '../backend.ts';
import { defaultEglPlatform, webgpuPackageMissing, type GpuCaps, type OpenGpuOptions } from './gpu-device.ts';
import type { Reply, Request } from './worker.ts';

/** How long a caller waits for one reply before giving up (a hung driver should not hang the process forever). */
const REPLY_TIMEOUT_MS = 10 * 60 * 1000;

export class WebGPUHost {
  readonly description: string;
  readonly caps: GpuCaps;
  readonly features: readonly string[];
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly counter: Int32Array;
  private readonly replies = new Map<number, Reply>();
  private nextId = 1;
  private closed = false;

  /** Start the worker and open a device in it; blocks until the device is ready or has failed. */
  constructor(options: OpenGpuOptions = {}) {
    const missing = webgpuPackageMissing();
    if (missing) throw new HearthError('backend_unavailable', missing);
    defaultEglPlatform();
    const signal = new SharedArrayBuffer(4);
    this.counter = new Int32Array(signal);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: { port: port2, signal }, transferList: [port2] });
    this.worker.unref();
    this.port.unref();
    try {
      const info = this.callSync({ op: 'open', options }) as { description: string; caps: GpuCaps; features: string[] };
      this.description = info.description;
      this.caps = info.caps;
      this.features = info.features;
    } catch (e) {
      void this.worker.terminate();
      throw e;
    }
  }

  private post(req: Request, transfer: Transferable[]): number {
    if (this.closed) throw new HearthError('invalid_argument', 'the webgpu backend has been closed');
    const id = this.nextId++;
    this.port.postMessage({ id, req }, transfer as never);
    return id;
  }

  private drain(): void {
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
      const r = m.message as Reply;
      this.replies.set(r.id, r);
    }
  }

  private take(id: number): unknown {
    const r = this.replies.get(id)!;
    this.replies.delete(id);
    if (!r.ok) throw new HearthError(r.code as ErrorCode, r.message);
    return r.value;
  }

  /** Post a request and block this thread until its reply arrives. */
  callSync(req: Request, transfer: Transferable[] = []): unknown {
    const id = this.post(req, transfer);
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    for (;;) {
      const seen = Atomics.load(this.counter, 0);
      this.drain();
      if (this.replies.has(id)) return this.take(id);
      if (Date.now() > deadline) throw new HearthError('timeout', `webgpu: no reply to ${req.op} in ${REPLY_TIMEOUT_MS / 1000} s`);
      Atomics.wait(this.counter, 0, seen, 1000);
    }
  }

  /** Post a request and await its reply without blocking the event loop. */
  async call(req: Request, transfer: Transferable[] = []): Promise<unknown> {
    const id = this.post(req, transfer);
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    for (;;) {
      const seen = Atomics.load(this.counter, 0);
      this.drain();
      if (this.replies.has(id)) return this.take(id);
      if (Date.now() > deadline) throw new HearthError('timeout', `webgpu: no reply to ${req.op} in ${REPLY_TIMEOUT_MS / 1000} s`);
      const w = Atomics.waitAsync(this.counter, 0, seen, 1000);
      if (w.async) await w.value;
    }
  }

  /** Fire-and-forget (freeing a cache); the reply is dropped when it arrives. */
  notify(req: Request): void {
    if (this.closed) return;
    const id = this.post(req, []);
    queueMicrotask(() => { this.drain(); this.replies.delete(id); });
  }

  /** Release the device and stop the worker. */
  close(): void {
    if (this.closed) return;
    try {
      this.callSync({ op: 'close' });
    } finally {
      this.closed = true;
      this.port.close();
      void this.worker.terminate();
    }
  }
}

/** A Backend whose forward passes run on the GPU (see decoder-forward.ts); it holds the host-side memory. */
export interface WebGPUBackend extends Backend {
  readonly name: 'webgpu';
  readonly host: WebGPUHost;
}

function wholePass(): never {
  throw new HearthError('invalid_argument',
    'the webgpu backend runs whole forward passes on the GPU (WebGPUDecoderForward); single host-side ops are not offered');
}

export function createWebGPUBackend(options: OpenGpuOptions = {}): WebGPUBackend {
  const host = new WebGPUHost(options);
  return {
    name: 'webgpu',
    host,
    // Weights are read into their own ArrayBuffers so they can be moved to the worker, not copied.
    allocWeight: (bytes) => new Uint8Array(bytes),
    // Only the CPU-side KV cache placeholders come here: zero pages the kernel maps lazily, never touched.
    allocF32: (n) => new Float32Array(n),
    matmul: wholePass, getRow: wholePass, rmsNorm: wholePass, rope: wholePass, attention: wholePass,
    swiglu: wholePass, add: wholePass, addBias: wholePass,
    dispose: () => host.close(),
  };
}

export function isWebGPUBackend(b: Backend): b is WebGPUBackend {
  return b.name === 'webgpu' && 'host' in b;
}
