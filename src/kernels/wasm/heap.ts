// The one shared WebAssembly.Memory of a cpu backend, and the allocator over it.
// The cpu backend allocates every tensor here and gives it back with release() when the tensor is freed
// (KVCache.dispose, a forward's activations, a scratch region growing). Free regions are kept in address order and
// merged with their neighbours, an allocation takes the best-fitting one (split when larger), and a region freed at
// the top lowers the top: what the heap holds is what is live plus the gaps between live regions, never the sum of
// every size ever asked for. (A WebAssembly memory cannot shrink, so the high-water mark stays resident; requests of
// many different lengths, each with its own activation sizes, must not each raise it.) allocF32 (arrays returned to
// the heap when collected) is kept for tests and tools that want plain arrays in the memory.
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
  /** Bytes below this were handed out before: memory the top grows back into must be zeroed again. */
  private dirty = HEAP_START;
  /** Free regions in address order; no two touch (released neighbours are merged) and none ends at the top. */
  private readonly free: { ptr: number; size: number }[] = [];
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

  /** The end of the highest live region: the bytes the heap spans now (live regions and the gaps between them). */
  get used(): number {
    return this.top;
  }

  /** The highest the top has been: the memory that has been resident at some point. */
  get highWater(): number {
    return this.dirty;
  }

  /** Bytes in free regions below the top. */
  get freeBytes(): number {
    let n = 0;
    for (const b of this.free) n += b.size;
    return n;
  }

  /** Whether a view lies in this memory (its byteOffset is then its wasm pointer). */
  owns(view: ArrayBufferView): boolean {
    return this.buffers.has(view.buffer);
  }

  /** A 64-byte aligned region of `bytes`; `what` names it in the error when 4 GiB would be exceeded. */
  alloc(bytes: number, what: string): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i];
      if (b.size < size || (best >= 0 && b.size >= this.free[best].size)) continue;
      best = i;
      if (b.size === size) break;
    }
    if (best >= 0) {
      const b = this.free[best];
      const reuse = b.ptr;
      if (b.size === size) this.free.splice(best, 1);
      else {
        b.ptr += size;
        b.size -= size;
      }
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
    if (ptr < this.dirty) new Uint8Array(this.buffer, ptr, Math.min(end, this.dirty) - ptr).fill(0);
    this.top = end;
    this.dirty = Math.max(this.dirty, end);
    return ptr;
  }

  /** Give a region back: merged with free neighbours, and the top lowered when it was the highest. */
  release(ptr: number, bytes: number): void {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    const free = this.free;
    let lo = 0;
    let hi = free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (free[mid].ptr < ptr) lo = mid + 1;
      else hi = mid;
    }
    const prev = free[lo - 1];
    const next = free[lo];
    if (ptr < HEAP_START || ptr + size > this.top || (prev && prev.ptr + prev.size > ptr) || (next && ptr + size > next.ptr)) {
      throw new HearthError('invalid_argument', `wasm heap: region ${ptr} (+${size}) is not live (released twice?)`);
    }
    let at = lo;
    let block: { ptr: number; size: number };
    if (prev && prev.ptr + prev.size === ptr) {
      prev.size += size;
      block = prev;
      at = lo - 1;
    } else {
      block = { ptr, size };
      free.splice(lo, 0, block);
    }
    const after = free[at + 1];
    if (after && block.ptr + block.size === after.ptr) {
      block.size += after.size;
      free.splice(at + 1, 1);
    }
    if (block.ptr + block.size === this.top) {
      this.top = block.ptr;
      free.splice(at, 1);
    }
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
