// One pool of kernel threads per JavaScript thread, shared by every cpu backend created on it: two loaded
// models use the same threads instead of each starting one per core. Each backend has its own
// WebAssembly.Memory; it attaches that memory to the pool, and every kernel thread then holds one instance of
// the module per attached memory. An op is posted by writing its arguments into the memory's control block
// (abi.ts), naming the memory in the pool's signal block and bumping SEQ (one Atomics.notify, no message); the
// calling thread takes part as thread 0 and then sleeps in Atomics.wait until every worker has counted itself
// DONE. Workers start at the first op that wants them (a small model may never need them) and are unref'd, so
// an idle pool never keeps the process alive. The pool grows to the most threads any backend asked for.

import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { HearthError } from '../../util/errors.ts';
import { CTL_BYTES, CTL_PTR, OP_ATTACH, OP_DETACH, OP_EXIT, SIG, SIG_SLOTS, SLOT } from './abi.ts';
import type { WasmMemory, WasmModule } from './wasm-api.ts';

export type RunFn = (op: number, ctl: number, ith: number, nth: number) => void;

const START_TIMEOUT_MS = 10_000;
/** How long workers spin for the next op before sleeping (ops of a forward pass come microseconds apart). */
const WORKER_SPIN_MS = 0.3;
/** Spins of the calling thread on DONE before it sleeps (the workers usually finish together with it). */
const MAIN_SPIN = 20_000;

/** What a kernel thread needs to run ops on one memory. */
export interface Attachment {
  readonly id: number;
  readonly module: WasmModule;
  readonly memory: WasmMemory;
}

interface KernelThread {
  readonly worker: Worker;
  readonly port: MessagePort;
}

/** One backend's use of the shared pool. */
export interface PoolLease {
  /** Threads this backend's ops run on at most, the calling thread included. */
  readonly size: number;
  /** Run op on nth threads (1 = the calling thread alone, without waking anyone); returns when all are done. */
  dispatch(op: number, nth: number): void;
  /** Detach the memory from the pool (idempotent); the pool's threads stay for other backends. */
  dispose(): void;
}

export class ThreadPool {
  private readonly sig = new Int32Array(new SharedArrayBuffer(SIG_SLOTS * 4));
  private readonly threads: KernelThread[] = [];
  private readonly attached = new Map<number, Attachment>();
  private nextId = 1;
  /** Threads wanted: the most any lease asked for, the calling thread included. */
  private wanted = 1;

  /** Kernel threads started so far (the calling thread not counted). */
  get workerCount(): number {
    return this.threads.length;
  }

  /** Threads an op can use now at most, the calling thread included. */
  get size(): number {
    return this.wanted;
  }

  /** Attach a memory; its ops run on up to `threads` threads (the pool grows to that). */
  lease(module: WasmModule, memory: WasmMemory, threads: number, run: RunFn): PoolLease {
    const a: Attachment = { id: this.nextId++, module, memory };
    this.attached.set(a.id, a);
    this.wanted = Math.max(this.wanted, threads);
    // Workers already running instantiate the module on this memory now; later ones get it when they start.
    if (this.threads.length > 0) this.broadcast(OP_ATTACH, a.id, a);
    const ctl = new Int32Array(memory.buffer, CTL_PTR, CTL_BYTES / 4);
    ctl.fill(0);
    let disposed = false;
    return {
      size: threads,
      dispatch: (op, nth) => {
        if (disposed) throw new HearthError('internal', 'the cpu backend was disposed');
        Atomics.store(ctl, SLOT.COUNTER, 0);
        const k = Math.min(nth, threads);
        if (k <= 1) {
          run(op, CTL_PTR, 0, 1);
          return;
        }
        this.ensureThreads(k - 1);
        this.post(op, a.id, k, () => run(op, CTL_PTR, 0, k));
      },
      dispose: () => {
        if (disposed) return;
        disposed = true;
        this.attached.delete(a.id);
        if (this.threads.length > 0) this.broadcast(OP_DETACH, a.id);
      },
    };
  }

  /** Start workers until there are n (each instantiates the module on every attached memory first). */
  private ensureThreads(n: number): void {
    if (this.threads.length >= n) return;
    const url = new URL('./worker.ts', import.meta.url);
    const sig = this.sig;
    const before = this.threads.length;
    const attached = [...this.attached.values()];
    // New workers read SEQ as it is when they start: no op is in flight while this thread is here.
    for (let i = before + 1; i <= n; i++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(url, {
        workerData: { sig: sig.buffer, port: port2, index: i, spinMs: WORKER_SPIN_MS, attached },
        transferList: [port2],
      });
      worker.unref();
      port1.unref();
      this.threads.push({ worker, port: port1 });
    }
    const deadline = performance.now() + START_TIMEOUT_MS;
    let failure: string | undefined;
    for (let r = Atomics.load(sig, SIG.READY); r < n && !failure; r = Atomics.load(sig, SIG.READY)) {
      if (performance.now() > deadline) failure = `only ${r} of ${n} kernel threads started`;
      else Atomics.wait(sig, SIG.READY, r, 50);
    }
    if (!failure && Atomics.load(sig, SIG.ERR)) failure = 'a kernel thread failed to instantiate the wasm module';
    if (failure) {
      for (const t of this.threads.splice(before)) void t.worker.terminate();
      Atomics.store(sig, SIG.READY, before);
      Atomics.store(sig, SIG.ERR, 0);
      throw new HearthError('internal', failure);
    }
  }

  /** Tell every worker about a memory attached or detached; they handle it as an op (the message goes first). */
  private broadcast(op: number, id: number, a?: Attachment): void {
    if (a) for (const t of this.threads) t.port.postMessage(a);
    this.post(op, id, this.threads.length + 1, () => {});
  }

  /** Post an op to workers 1..nth-1, run `self` here as thread 0, wait for every worker. */
  private post(op: number, mem: number, nth: number, self: () => void): void {
    const sig = this.sig;
    sig[SIG.OP] = op;
    sig[SIG.MEM] = mem;
    sig[SIG.NTH] = nth;
    sig[SIG.DONE] = 0;
    sig[SIG.ERR] = 0;
    Atomics.add(sig, SIG.SEQ, 1);
    Atomics.notify(sig, SIG.SEQ);
    let failure: unknown;
    try {
      self();
    } catch (e) {
      failure = e;
    }
    const n = this.threads.length;
    for (let i = 0, d = Atomics.load(sig, SIG.DONE); d < n; i++, d = Atomics.load(sig, SIG.DONE)) {
      if (i >= MAIN_SPIN) Atomics.wait(sig, SIG.DONE, d);
    }
    if (failure) throw failure;
    if (Atomics.load(sig, SIG.ERR)) throw new HearthError('internal', `kernel op ${op} failed on a worker thread`);
  }

  /** Stop the workers (the pool starts fresh ones if used again). */
  shutdown(): void {
    if (this.threads.length === 0) return;
    this.sig[SIG.OP] = OP_EXIT;
    Atomics.add(this.sig, SIG.SEQ, 1);
    Atomics.notify(this.sig, SIG.SEQ);
    for (const t of this.threads.splice(0)) void t.worker.terminate();
    Atomics.store(this.sig, SIG.READY, 0);
  }
}

let shared: ThreadPool | undefined;

/** The pool of this JavaScript thread, shared by every cpu backend created on it. */
export function sharedThreadPool(): ThreadPool {
  return (shared ??= new ThreadPool());
}
