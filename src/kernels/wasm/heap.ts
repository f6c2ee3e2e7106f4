// The one shared WebAssembly.Memory of a cpu backend, and a simple allocator over it.
// The cpu backend allocates every tensor here and gives it back with release() when the tensor is freed
// (KVCache.dispose, a forward's scratch growing): a free list per exact size, so contexts created and disposed one
// after another reuse the same memory at once. allocF32 (arrays returned to the free list when collected) is
// kept for tests and tools that want plain arrays in the memory.
// A shared memory never detaches on grow: views made before a grow stay valid, they just keep the older
// SharedArrayBuffer object, which is why ownership is checked against every buffer object seen.

import { HearthError } from '../../util/errors.ts';
import { f16Table } from '../../util/f16.ts';
import { HALF_TABLE, HEAP_START } from './abi.ts';
import { wasm, type WasmMemory } from './wasm-api.ts';

const PAGE = 65536;
/** wasm32: 65536 pages of 64 KiB. */
export const MAX_PAGES = 65536;
export const WASM32_LIMIT = MAX_PAGES * PAGE;
const ALIGN = 64;

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

export class WasmHeap {
  readonly memory: WasmMemory;
  private top = HEAP_START;
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private readonly free = new Map<number, number[]>();
  private readonly reclaim = new FinalizationRegistry<[number, number]>(([ptr, size]) => this.release(ptr, size));

  constructor(initialBytes = 16 * 1024 * 1024) {
    this.memory = new wasm.Memory({ initial: Math.ceil(Math.max(initialBytes, HEAP_START) / PAGE), maximum: MAX_PAGES, shared: true });
    new Float32Array(this.memory.buffer, HALF_TABLE, 65536).set(f16Table());
  }

  /** The current buffer (a new object after each grow). */
  get buffer(): SharedArrayBuffer {
    const b = this.memory.buffer as unknown as SharedArrayBuffer;
    this.buffers.add(b);
    return b;
  }

  /** Bytes allocated so far (the high-water mark). */
  get used(): number {
    return this.top;
  }

  /** Whether a view lies in this memory (its byteOffset is then its wasm pointer). */
  owns(view: ArrayBufferView): boolean {
    return this.buffers.has(view.buffer);
  }

  /** A 64-byte aligned region of `bytes`; `what` names it in the error when 4 GiB would be exceeded. */
  alloc(bytes: number, what: string): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    const reuse = this.free.get(size)?.pop();
    if (reuse !== undefined) {
      new Uint8Array(this.buffer, reuse, size).fill(0);
      return reuse;
    }
    const ptr = this.top;
    const end = ptr + size;
    if (end > WASM32_LIMIT) {
      throw new HearthError('out_of_memory',
        `${what} needs ${gib(size)} more, ${gib(end)} in all: the cpu backend keeps weights, activations and the KV cache ` +
        `in one 32-bit WebAssembly memory of at most 4 GiB; use a smaller model, quantization or context`);
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const need = Math.ceil((end - have) / PAGE);
      const ahead = Math.min(MAX_PAGES - have / PAGE, Math.max(need, Math.ceil(have / PAGE / 8)));
      try {
        this.memory.grow(ahead);
      } catch (e) {
        throw new HearthError('out_of_memory', `${what}: growing the wasm memory to ${gib(have + ahead * PAGE)} failed`, { cause: e });
      }
    }
    this.top = end;
    return ptr;
  }

  /** Give a region back for reuse by an allocation of the same size. */
  release(ptr: number, bytes: number): void {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(ptr);
  }

  bytes(ptr: number, n: number): Uint8Array {
    return new Uint8Array(this.buffer, ptr, n);
  }

  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.buffer, ptr, n);
  }

  i32(ptr: number, n: number): Int32Array {
    return new Int32Array(this.buffer, ptr, n);
  }

  /** A zeroed f32 array whose memory returns to the free list once the array is collected. */
  allocF32(n: number, what: string): Float32Array {
    const ptr = this.alloc(n * 4, what);
    const arr = this.f32(ptr, n);
    this.reclaim.register(arr, [ptr, n * 4]);
    return arr;
  }
}
