// Worker threads sharing the backend's memory. An op is posted by writing its arguments into the control
// block and bumping SEQ (one Atomics.notify, no message); the main thread takes part as thread 0 and then
// sleeps in Atomics.wait until every worker has counted itself DONE. Workers start at the first op that
// wants them (a small model may never need them) and are unref'd, so an idle pool never keeps the process
// alive; dispose() stops them.

import { Worker } from 'node:worker_threads';
import { HearthError } from '../../util/errors.ts';
import { CTL_BYTES, CTL_PTR, OP_EXIT, SLOT } from './abi.ts';
import type { WasmMemory, WasmModule } from './wasm-api.ts';

export type RunFn = (op: number, ctl: number, ith: number, nth: number) => void;

const START_TIMEOUT_MS = 10_000;
/** How long workers spin for the next op before sleeping (ops of a forward pass come microseconds apart). */
const WORKER_SPIN_MS = 0.3;
/** Spins of the main thread on DONE before it sleeps (the workers usually finish together with it). */
const MAIN_SPIN = 20_000;

export class ThreadPool {
  /** Threads taking part in an op at most, the main thread included. */
  readonly size: number;
  private readonly ctl: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly run: RunFn;
  private readonly module: WasmModule;
  private readonly memory: WasmMemory;
  private ready = false;
  private disposed = false;

  constructor(module: WasmModule, memory: WasmMemory, threads: number, run: RunFn) {
    this.size = threads;
    this.run = run;
    this.module = module;
    this.memory = memory;
    this.ctl = new Int32Array(memory.buffer, CTL_PTR, CTL_BYTES / 4);
    this.ctl.fill(0);
  }

  /** Start the workers and wait until each has instantiated the module. */
  private start(): void {
    const url = new URL('./worker.ts', import.meta.url);
    for (let i = 1; i < this.size; i++) {
      const w = new Worker(url, { workerData: { module: this.module, memory: this.memory, index: i, spinMs: WORKER_SPIN_MS } });
      w.unref();
      this.workers.push(w);
    }
    const ctl = this.ctl;
    const n = this.workers.length;
    const deadline = performance.now() + START_TIMEOUT_MS;
    let failure: string | undefined;
    for (let r = Atomics.load(ctl, SLOT.READY); r < n && !failure; r = Atomics.load(ctl, SLOT.READY)) {
      if (performance.now() > deadline) failure = `only ${r} of ${n} kernel threads started`;
      else Atomics.wait(ctl, SLOT.READY, r, 50);
    }
    if (!failure && Atomics.load(ctl, SLOT.ERR)) failure = 'a kernel thread failed to instantiate the wasm module';
    if (failure) {
      this.dispose();
      throw new HearthError('internal', failure);
    }
    this.ready = true;
  }

  /** Run op on nth threads (1 = the main thread alone, without waking anyone); returns when all are done. */
  dispatch(op: number, nth: number): void {
    const ctl = this.ctl;
    Atomics.store(ctl, SLOT.COUNTER, 0);
    if (nth <= 1 || this.size <= 1) {
      this.run(op, CTL_PTR, 0, 1);
      return;
    }
    if (this.disposed) throw new HearthError('internal', 'the cpu backend was disposed');
    if (!this.ready) this.start();
    const n = this.workers.length;
    const k = Math.min(nth, this.size);
    ctl[SLOT.OP] = op;
    ctl[SLOT.NTH] = k;
    ctl[SLOT.DONE] = 0;
    ctl[SLOT.ERR] = 0;
    Atomics.add(ctl, SLOT.SEQ, 1);
    Atomics.notify(ctl, SLOT.SEQ);
    let failure: unknown;
    try {
      this.run(op, CTL_PTR, 0, k);
    } catch (e) {
      failure = e;
    }
    for (let i = 0, d = Atomics.load(ctl, SLOT.DONE); d < n; i++, d = Atomics.load(ctl, SLOT.DONE)) {
      if (i >= MAIN_SPIN) Atomics.wait(ctl, SLOT.DONE, d);
    }
    if (failure) throw failure;
    if (Atomics.load(ctl, SLOT.ERR)) throw new HearthError('internal', `kernel op ${op} failed on a worker thread`);
  }

  /** Stop the workers (idempotent). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.ctl[SLOT.OP] = OP_EXIT;
    Atomics.add(this.ctl, SLOT.SEQ, 1);
    Atomics.notify(this.ctl, SLOT.SEQ);
    for (const w of this.workers) void w.terminate();
  }
}
