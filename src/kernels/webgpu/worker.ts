// The worker thread that owns the WebGPU device in Node (see host.ts for why). Requests arrive on a MessagePort
// and run one at a time; each reply is posted on the same port, then a counter in shared memory is bumped and
// notified so a caller blocked in Atomics.wait (or awaiting Atomics.waitAsync) wakes and reads it.
// A 'run' request carries the ops the host-side Backend recorded; they are replayed on the device's Backend
// (gpu-backend.ts) with the host's handles mapped to the device's, then the one tensor asked for is read back.
// The device (and with it the create() object Dawn needs kept alive) lives as long as this thread.

import { workerData, type MessagePort } from 'node:worker_threads';
import { HearthError } from '../../util/errors.ts';
import type { DType, MemoryReport, MemoryUse, Tensor, WeightTensor } from '../backend.ts';
import { openGpuDevice, type GpuDevice, type OpenGpuOptions } from './gpu-device.ts';
import { createGpuBackend, type GpuBackend } from './gpu-backend.ts';

/** One recorded op: a Backend method and its arguments (weights by id, tensors with the host's handles). */
export type Op =
  | ['adoptWeight', number, WeightTensor]
  | ['alloc', number, number, DType, MemoryUse]
  | ['upload', Tensor, Float32Array]
  | ['free', Tensor]
  | ['getRows', number, ...unknown[]]
  | ['matmul', number, ...unknown[]]
  | [string, ...unknown[]];

export type Request =
  | { op: 'open'; options: OpenGpuOptions }
  | { op: 'run'; ops: Op[]; read?: Tensor }
  | { op: 'close' };

export interface RunResult {
  data?: Float32Array;
  memory: MemoryReport;
  /** Conversions made on upload ("no Q5_K kernel; … dequantized to F16"). */
  notices: string[];
}

export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; code: string; message: string };

const { port, signal } = workerData as { port: MessagePort; signal: SharedArrayBuffer };
const counter = new Int32Array(signal);

let gd: GpuDevice | undefined;
let gpu: GpuBackend | undefined;
const notices: string[] = [];
/** Host handle -> the device backend's tensor, and host weight id -> adopted weight. */
const tensors = new Map<number, Tensor>();
const weights = new Map<number, WeightTensor>();

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new HearthError('internal', `webgpu worker: ${what} before the device was opened`);
  return v;
}

function isTensor(a: unknown): a is Tensor {
  return typeof a === 'object' && a !== null && 'handle' in a && 'dtype' in a && 'offset' in a;
}

/** The host's tensor (a view of one of its allocations) as the same view of the device's allocation. */
function local(t: Tensor): Tensor {
  const base = tensors.get(t.handle);
  if (!base) throw new HearthError('invalid_argument', `webgpu: tensor ${t.handle} is not allocated (freed?)`);
  return { handle: base.handle, offset: t.offset, length: t.length, dtype: t.dtype };
}

function weight(id: unknown): WeightTensor {
  const w = weights.get(id as number);
  if (!w) throw new HearthError('internal', `webgpu worker: no weight ${id}`);
  return w;
}

function apply(g: GpuBackend, op: Op): void {
  const [name, ...args] = op;
  switch (name) {
    case 'adoptWeight': weights.set(args[0] as number, g.adoptWeight(args[1] as WeightTensor)); return;
    case 'alloc': tensors.set(args[0] as number, g.alloc(args[1] as number, args[2] as DType, args[3] as MemoryUse)); return;
    case 'free': {
      const t = args[0] as Tensor;
      g.free(local(t));
      tensors.delete(t.handle);
      return;
    }
    case 'getRows': case 'matmul': {
      const rest = args.slice(1).map((a) => (isTensor(a) ? local(a) : a));
      (g[name] as (...a: unknown[]) => void)(weight(args[0]), ...rest);
      return;
    }
    case 'upload': case 'rmsNorm': case 'rope': case 'kvStore': case 'attention': case 'swiglu': case 'add': case 'addBias':
      (g[name] as (...a: unknown[]) => void)(...args.map((a) => (isTensor(a) ? local(a) : a)));
      return;
    default:
      throw new HearthError('internal', `webgpu worker: unknown op ${name}`);
  }
}

async function handle(req: Request): Promise<{ value: unknown; transfer?: ArrayBuffer[] }> {
  switch (req.op) {
    case 'open':
      gd = await openGpuDevice(req.options);
      gpu = createGpuBackend(gd, (m) => notices.push(m));
      return { value: { description: gd.description, caps: gd.caps, features: gd.features } };
    case 'run': {
      const g = need(gpu, req.op);
      return g.checked('webgpu', async () => {
        for (const op of req.ops) apply(g, op);
        const data = req.read ? await g.read(local(req.read)) : undefined;
        if (!data) g.submit();
        const value: RunResult = { data, memory: g.memory(), notices: notices.splice(0) };
        return { value, transfer: data ? [data.buffer as ArrayBuffer] : [] };
      });
    }
    case 'close':
      gpu?.dispose();
      // the reply waits until the device is gone: the thread may be terminated right after it
      await gd?.destroy();
      gpu = undefined;
      gd = undefined;
      tensors.clear();
      weights.clear();
      return { value: undefined };
  }
}

function reply(r: Reply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(r, transfer);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
}

let chain: Promise<void> = Promise.resolve();
port.on('message', ({ id, req }: { id: number; req: Request }) => {
  chain = chain.then(async () => {
    try {
      const { value, transfer } = await handle(req);
      reply({ id, ok: true, value }, transfer);
    } catch (e) {
      const code = e instanceof HearthError ? e.code : 'internal';
      reply({ id, ok: false, code, message: (e as Error)?.message ?? String(e) });
    }
    if (req.op === 'close') port.close();
  });
});
