// The contract between the TypeScript side and the kernel module (assembly/index.ts keeps the same numbers):
// op codes, and the control block of each memory. The control block is CTL_BYTES at CTL_PTR in the wasm
// memory, viewed as i32 slots: COUNTER (byte 64) the shared chunk counter, ARGS (byte 128..) the op's
// arguments, i32 each (pointers as unsigned 32-bit values). The thread pool signals through its own shared
// block (SIG), since one pool serves several memories:
//   SEQ     bumped by the calling thread to start an op   DONE   workers that finished it
//   OP, NTH the op and how many threads take part         ERR    set when a worker's op threw
//   READY   workers that have started                     MEM    which attached memory the op runs on

export const OP_EXIT = 0;
export const OP_MATMUL = 1;
export const OP_ATTENTION = 2;
/** An element-wise or row-wise op (EW_* below) over chunks of its elements or rows. */
export const OP_ELEMENTWISE = 3;
export const EW_GELU = 1;
export const EW_GELU_ERF = 2;
export const EW_GEGLU = 3;
export const EW_SWIGLU = 4;
export const EW_LAYER_NORM = 5;
/** Pool ops, handled by the workers themselves: instantiate the module on a memory, or drop that instance. */
export const OP_ATTACH = -1;
export const OP_DETACH = -2;

/** Bytes below this are never handed out (the kernel module has no static data; this keeps 0 an invalid pointer). */
export const CTL_PTR = 1024;
export const CTL_BYTES = 256;
/** f16 -> f32 of all 65536 halves (256 KiB), filled once per memory: block scales are decoded by lookup. */
export const HALF_TABLE = 65536;
export const HEAP_START = HALF_TABLE + 65536 * 4;

export const SLOT = { COUNTER: 16, ARGS: 32 } as const;
export const SIG = { SEQ: 0, DONE: 1, OP: 2, NTH: 3, ERR: 4, READY: 5, MEM: 6 } as const;
export const SIG_SLOTS = 8;
export const MAX_ARGS = 32;
