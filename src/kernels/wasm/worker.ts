// A kernel thread: instantiates the compiled module on the shared memory and runs ops as the main thread
// posts them through the control block (see abi.ts), until OP_EXIT.

import { workerData } from 'node:worker_threads';
import { CTL_BYTES, CTL_PTR, OP_EXIT, SLOT } from './abi.ts';
import { wasm, type WasmMemory, type WasmModule } from './wasm-api.ts';

interface KernelWorkerData {
  module: WasmModule;
  memory: WasmMemory;
  /** This thread's index (the main thread is 0). */
  index: number;
  /** Iterations to spin on the sequence number before sleeping in Atomics.wait. */
  spin: number;
}

const { module, memory, index, spin } = workerData as KernelWorkerData;
const ctl = new Int32Array(memory.buffer, CTL_PTR, CTL_BYTES / 4);
let run: ((op: number, ctl: number, ith: number, nth: number) => void) | undefined;
try {
  const inst = new wasm.Instance(module, { env: { memory } });
  run = inst.exports.run as typeof run;
} catch {
  Atomics.store(ctl, SLOT.ERR, 1);
}
// Read before announcing readiness: the main thread posts the first op only once every worker is ready.
let seq = Atomics.load(ctl, SLOT.SEQ);
Atomics.add(ctl, SLOT.READY, 1);
Atomics.notify(ctl, SLOT.READY);

for (;;) {
  for (let i = 0; Atomics.load(ctl, SLOT.SEQ) === seq; i++) {
    if (i >= spin) Atomics.wait(ctl, SLOT.SEQ, seq);
  }
  seq = Atomics.load(ctl, SLOT.SEQ);
  const op = ctl[SLOT.OP];
  if (op === OP_EXIT) break;
  const nth = ctl[SLOT.NTH];
  if (index < nth) {
    try {
      run!(op, CTL_PTR, index, nth);
    } catch {
      Atomics.store(ctl, SLOT.ERR, 1);
    }
  }
  Atomics.add(ctl, SLOT.DONE, 1);
  Atomics.notify(ctl, SLOT.DONE);
}
