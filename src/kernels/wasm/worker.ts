// A kernel thread of the shared pool (thread-pool.ts): holds one instance of the compiled module per attached
// memory and runs ops as the calling thread posts them through the pool's signal block (abi.ts), until OP_EXIT.

import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { CTL_PTR, OP_ATTACH, OP_DETACH, OP_EXIT, SIG } from './abi.ts';
import { wasm } from './wasm-api.ts';
import type { Attachment, RunFn } from './thread-pool.ts';

interface KernelWorkerData {
  sig: SharedArrayBuffer;
  /** Attachments made after this thread started arrive here, one message per OP_ATTACH. */
  port: MessagePort;
  /** This thread's index (the calling thread is 0). */
  index: number;
  /** Milliseconds to spin on the sequence number before sleeping in Atomics.wait. */
  spinMs: number;
  /** Memories attached before this thread started. */
  attached: Attachment[];
}

const { sig: sigBuffer, port, index, spinMs, attached } = workerData as KernelWorkerData;
const sig = new Int32Array(sigBuffer);
const runs = new Map<number, RunFn>();

function attach(a: Attachment): boolean {
  try {
    const inst = new wasm.Instance(a.module, { env: { memory: a.memory } });
    runs.set(a.id, inst.exports.run as RunFn);
    return true;
  } catch {
    return false;
  }
}

if (!attached.every(attach)) Atomics.store(sig, SIG.ERR, 1);
// Read before announcing readiness: the calling thread posts the next op only once every worker is ready.
let seq = Atomics.load(sig, SIG.SEQ);
Atomics.add(sig, SIG.READY, 1);
Atomics.notify(sig, SIG.READY);

for (;;) {
  // Spin a while first: during a forward pass the next op comes within microseconds, and waking a sleeping
  // thread costs far more than that (hundreds of microseconds when the machine is busy).
  let since = 0;
  for (let i = 1; Atomics.load(sig, SIG.SEQ) === seq; i++) {
    if ((i & 255) !== 0) continue;
    const now = performance.now();
    if (since === 0) since = now;
    else if (now - since > spinMs) {
      Atomics.wait(sig, SIG.SEQ, seq);
      since = 0;
    }
  }
  seq = Atomics.load(sig, SIG.SEQ);
  const op = sig[SIG.OP];
  if (op === OP_EXIT) break;
  const mem = sig[SIG.MEM];
  let ok = true;
  if (op === OP_ATTACH) {
    const m = receiveMessageOnPort(port);
    ok = m !== undefined && attach(m.message as Attachment);
  } else if (op === OP_DETACH) {
    runs.delete(mem);
  } else if (index < sig[SIG.NTH]) {
    try {
      runs.get(mem)!(op, CTL_PTR, index, sig[SIG.NTH]);
    } catch {
      ok = false;
    }
  }
  if (!ok) Atomics.store(sig, SIG.ERR, 1);
  Atomics.add(sig, SIG.DONE, 1);
  Atomics.notify(sig, SIG.DONE);
}
