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
  /** Milliseconds to spin on the sequence number before sleeping in Atomics.wait. */
  spinMs: number;
}

const { module, memory, index, spinMs } = workerData as KernelWorkerData;
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
  // Spin a while first: during a forward pass the next op comes within microseconds, and waking a sleeping
  // thread costs far more than that (hundreds of microseconds when the machine is busy).
  let since = 0;
  for (let i = 1; Atomics.load(ctl, SLOT.SEQ) === seq; i++) {
    if ((i & 255) !== 0) continue;
    const now = performance.now();
    if (since === 0) since = now;
    else if (now - since > spinMs) {
      Atomics.wait(ctl, SLOT.SEQ, seq);
      since = 0;
    }
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
