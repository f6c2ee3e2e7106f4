// The worker thread that owns the WebGPU device in Node (see host.ts for why). Requests arrive on a MessagePort
// and run one at a time; each reply is posted on the same port, then a counter in shared memory is bumped and
// notified so a caller blocked in Atomics.wait (or awaiting Atomics.waitAsync) wakes and reads it.
// The device (and with it the create() object Dawn needs kept alive) lives as long as this thread.

import { workerData, type MessagePort } from 'node:worker_threads';
import { HearthError } from '../../util/errors.ts';
import { openGpuDevice, type GpuDevice, type OpenGpuOptions } from './gpu-device.ts';
import { WebGPUForward, type GpuKvCache, type GpuDecoderDims, type HostDecoderWeights } from './forward.ts';
import type { RopeParams } from '../ref/rope.ts';

export type Request =
  | { op: 'open'; options: OpenGpuOptions }
  | { op: 'load'; dims: GpuDecoderDims; rope: RopeParams; weights: HostDecoderWeights }
  | { op: 'forward'; segments: { tokens: Int32Array; pos0: number; cacheId: number; nCtx: number; f16: boolean }[]; allLogits: boolean; hidden: boolean }
  | { op: 'free'; cacheId: number }
  | { op: 'close' };

export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; code: string; message: string };

const { port, signal } = workerData as { port: MessagePort; signal: SharedArrayBuffer };
const counter = new Int32Array(signal);

let gd: GpuDevice | undefined;
let fwd: WebGPUForward | undefined;
const caches = new Map<number, GpuKvCache>();

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new HearthError('internal', `webgpu worker: ${what} before it was set up`);
  return v;
}

async function handle(req: Request): Promise<{ value: unknown; transfer?: ArrayBuffer[] }> {
  switch (req.op) {
    case 'open':
      gd = await openGpuDevice(req.options);
      return { value: { description: gd.description, caps: gd.caps, features: gd.features } };
    case 'load': {
      const notices: string[] = [];
      fwd = new WebGPUForward(need(gd, 'load'), req.dims, req.rope, req.weights, (m) => notices.push(m));
      // surface a device error (out of memory, validation) now rather than at the first forward pass
      await fwd.ks.checked('upload', () => undefined);
      return { value: { weightBytes: fwd.weightBytes, notices } };
    }
    case 'forward': {
      const f = need(fwd, 'forward');
      const segments = req.segments.map((s) => {
        let cache = caches.get(s.cacheId);
        if (!cache) { cache = f.createCache(s.nCtx, s.f16); caches.set(s.cacheId, cache); }
        return { tokens: s.tokens, pos0: s.pos0, cache };
      });
      const out = await f.forwardBatch(segments, req.allLogits, req.hidden);
      return { value: out, transfer: [out.buffer as ArrayBuffer] };
    }
    case 'free':
      caches.get(req.cacheId)?.destroy();
      caches.delete(req.cacheId);
      return { value: undefined };
    case 'close':
      for (const c of caches.values()) c.destroy();
      caches.clear();
      fwd?.destroy();
      gd?.destroy();
      fwd = undefined;
      gd = undefined;
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
