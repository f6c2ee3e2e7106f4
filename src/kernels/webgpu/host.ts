// The webgpu backend in Node. GPU work completes asynchronously (mapAsync), while Context.eval, evalBatch, embed
// and the scheduler call the forward pass synchronously. The device therefore lives in a worker thread
// (worker.ts, over gpu-backend.ts); this side is a Backend whose ops are recorded as a list of small messages
// and shipped to the worker at the next read or submit, where they run as one GPU submission. The one forward
// pass (model/decoder.ts) runs here unchanged: read() blocks in Atomics.wait until the worker replies
// (forwardBatch), readAsync() awaits it with Atomics.waitAsync (forwardBatchAsync, which leaves the event loop
// free). Per pass only the op list goes in and the logits come out; weights cross once, at load, and are moved
// rather than copied.
// Ops without a WGSL kernel run on this side on the reference kernels: the inputs are read back (which runs
// everything recorded before them), the reference computes, and the result is uploaded as a recorded op. Today
// these are layerNorm, gelu, geluErf, geglu, scale, softcap, and attention with options (non-causal, sliding
// window, soft-cap, a ring cache); plain causal attention stays on the GPU. Such a read blocks even under forwardBatchAsync.
// Mixture-of-experts routing and the experts' weighted combine run on this side the same way (routing must be
// on the host: it decides the matmuls); matmulId records one GPU matmul per routed row, not batched by expert.

import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort, type Transferable } from 'node:worker_threads';
import { HearthError, type ErrorCode } from '../../util/errors.ts';
import { view, type Backend, type MemoryReport, type Tensor, type WeightTensor } from '../backend.ts';
import { cacheRows, isPlainCausal } from '../ref/attention-options.ts';
import { attention as refAttention } from '../ref/attention.ts';
import { gelu, geglu, geluErf } from '../ref/gelu.ts';
import { layerNorm } from '../ref/layer-norm.ts';
import { checkIds, moeCombine, moeRoute } from '../ref/moe.ts';
import { scale, softcap } from '../ref/scale.ts';
import { defaultEglPlatform, webgpuPackageMissing, type GpuCaps, type OpenGpuOptions } from './gpu-device.ts';
import type { Op, Reply, Request, RunResult } from './worker.ts';

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

  get isClosed(): boolean {
    return this.closed;
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

/** The Backend whose ops run on the GPU in the worker; it holds the host-side handles. */
export interface WebGPUBackend extends Backend {
  readonly name: 'webgpu';
  readonly host: WebGPUHost;
  readAsync(t: Tensor): Promise<Float32Array>;
}

const EMPTY = new Uint8Array(0);

export function createWebGPUBackend(options: OpenGpuOptions = {}): WebGPUBackend {
  const host = new WebGPUHost(options);
  let ops: Op[] = [];
  let transfer: ArrayBuffer[] = [];
  let nextHandle = 1;
  const weightIds = new WeakMap<WeightTensor, number>();
  const told = new Set<string>();
  const push = (op: Op) => ops.push(op);
  /** The recorded ops, to send; the list starts afresh. */
  function take(extra: Omit<Extract<Request, { op: 'run' }>, 'op' | 'ops'>): [Request, ArrayBuffer[]] {
    const req: Request = { op: 'run', ops, ...extra };
    const t = transfer;
    ops = [];
    transfer = [];
    return [req, t];
  }
  function result(r: RunResult): RunResult {
    for (const n of r.notices) {
      if (told.has(n)) continue;
      told.add(n);
      process.stderr.write(`hearth: ${n}\n`);
    }
    return r;
  }
  /** t's first n values, after everything recorded so far has run. */
  const hostRead = (t: Tensor, n = t.length) => result(host.callSync(...take({ read: view(t, 0, n) })) as RunResult).data!;
  /** Record an upload of values computed here into t's first data.length elements. */
  const hostWrite = (t: Tensor, data: Float32Array) => push(['upload', view(t, 0, data.length), data]);
  /** An in-place element-wise op on the host. */
  const onHost = (x: Tensor, n: number, fn: (d: Float32Array) => void) => {
    const d = hostRead(x, n);
    fn(d);
    hostWrite(x, d);
  };
  const w = (t: WeightTensor) => {
    const id = weightIds.get(t);
    if (id === undefined) throw new HearthError('internal', `webgpu: ${t.name} was not adopted by this backend`);
    return id;
  };
  return {
    name: 'webgpu',
    host,
    // Weights are read into ArrayBuffers of their own so they can be moved to the worker, not copied.
    allocWeight: (bytes) => new Uint8Array(bytes),
    adoptWeight(t) {
      const id = nextHandle++;
      let data = t.data;
      const b = data.buffer;
      if (b instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === b.byteLength) transfer.push(b);
      else data = data.slice(); // a view into a larger buffer would carry all of it along
      push(['adoptWeight', id, { name: t.name, type: t.type, cols: t.cols, rows: t.rows, data }]);
      const adopted: WeightTensor = { name: t.name, type: t.type, cols: t.cols, rows: t.rows, data: EMPTY };
      weightIds.set(adopted, id);
      return adopted;
    },
    alloc(n, dtype, use) {
      const handle = nextHandle++;
      push(['alloc', handle, n, dtype, use]);
      return { handle, offset: 0, length: n, dtype };
    },
    upload: (t, data) => push(['upload', t, data.slice()]),
    read(t) {
      const r = result(host.callSync(...take({ read: t })) as RunResult);
      return r.data!;
    },
    async readAsync(t) {
      const r = result(await host.call(...take({ read: t })) as RunResult);
      return r.data!;
    },
    submit: () => void result(host.callSync(...take({})) as RunResult),
    free(t) {
      if (!host.isClosed) push(['free', t]);
    },
    memory: () => (result(host.callSync(...take({})) as RunResult).memory as MemoryReport),
    getRows: (t, ids, out) => push(['getRows', w(t), ids.slice(), out]),
    matmul: (t, x, nTokens, y) => push(['matmul', w(t), x, nTokens, y]),
    rmsNorm: (x, weight, eps, n, nTokens, out) => push(['rmsNorm', x, weight, eps, n, nTokens, out]),
    rope: (x, nTokens, nHead, headDim, positions, p) => push(['rope', x, nTokens, nHead, headDim, positions, p]),
    kvStore: (k, v, kCache, vCache) => push(['kvStore', k, v, kCache, vCache]),
    attention(q, kCache, vCache, nTokens, pos0, s, out, o) {
      if (isPlainCausal(o)) {
        push(['attention', q, kCache, vCache, nTokens, pos0, s, out]);
        return;
      }
      const n = nTokens * s.nHead * s.headDim;
      const kvN = cacheRows(pos0 + nTokens, o) * s.nHeadKv * s.headDim;
      const got = new Float32Array(n);
      // the caches come back as f32 values (an f16 cache's halves, exactly), which the reference takes as they are
      refAttention(hostRead(q, n), hostRead(kCache, kvN), hostRead(vCache, kvN), nTokens, pos0, s, got, o);
      hostWrite(out, got);
    },
    swiglu: (gate, up, n) => push(['swiglu', gate, up, n]),
    layerNorm(x, weight, bias, eps, n, nTokens, out) {
      const got = new Float32Array(n * nTokens);
      layerNorm(hostRead(x, n * nTokens), weight && hostRead(weight, n), bias && hostRead(bias, n), eps, n, nTokens, got);
      hostWrite(out, got);
    },
    gelu: (x, n) => onHost(x, n, (d) => gelu(d, n)),
    geluErf: (x, n) => onHost(x, n, (d) => geluErf(d, n)),
    geglu(gate, up, n) {
      const u = hostRead(up, n);
      onHost(gate, n, (d) => geglu(d, u, n));
    },
    scale: (x, k, n) => onHost(x, n, (d) => scale(d, k, n)),
    softcap: (x, cap, n) => onHost(x, n, (d) => softcap(d, cap, n)),
    add: (a, b, n) => push(['add', a, b, n]),
    addBias: (x, bias, n, nTokens) => push(['addBias', x, bias, n, nTokens]),
    moeRoute: (logits, nTokens, nExpert, nUsed, normalize) =>
      moeRoute(hostRead(logits, nTokens * nExpert), nTokens, nExpert, nUsed, normalize),
    matmulId(experts, x, src, ids, y) {
      // one GPU matmul per routed row (not yet batched by expert: a correct fallback)
      checkIds(experts.length, src, ids);
      const { cols, rows } = experts[0];
      ids.forEach((e, i) => push(['matmul', w(experts[e]), view(x, src[i] * cols, cols), 1, view(y, i * rows, rows)]));
    },
    moeCombine(experts, weights, nTokens, nUsed, n, out) {
      const got = new Float32Array(nTokens * n);
      moeCombine(hostRead(experts, nTokens * nUsed * n), weights, nTokens, nUsed, n, got);
      hostWrite(out, got);
    },
    dispose: () => host.close(),
  };
}

export function isWebGPUBackend(b: Backend): b is WebGPUBackend {
  return b.name === 'webgpu' && 'host' in b;
}
