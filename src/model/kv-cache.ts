// The key/value cache of one sequence: per layer K and V, each [nCtx, nHeadKv * headDim], in backend memory.
// With `f16` (the default, as llama.cpp's type_k = type_v = f16) the values are stored as IEEE halves, written by
// the backend's kvStore kernel (which does the rounding): nLayer * 2 * nCtx * kvDim * 2 bytes, llama.cpp's size.
// With f16 off they stay f32. dispose() returns the memory at once; a cache dropped without it is freed when
// garbage-collected (a safety net only).

import { HearthError } from '../util/errors.ts';
import { DTYPE_BYTES, type Backend, type DType, type Tensor } from '../kernels/backend.ts';

/** Frees the tensors of a cache that was dropped without dispose(). */
const orphaned = new FinalizationRegistry<{ backend: Backend; tensors: Tensor[]; live: { value: boolean } }>((h) => {
  if (!h.live.value) return;
  h.live.value = false;
  try {
    for (const t of h.tensors) h.backend.free(t);
  } catch {
    // the backend itself was disposed first: its memory is gone already
  }
});

export class KVCache {
  readonly nCtx: number;
  readonly kvDim: number;
  readonly f16: boolean;
  readonly dtype: DType;
  readonly backend: Backend;
  private readonly kt: Tensor[];
  private readonly vt: Tensor[];
  private readonly live = { value: true };

  constructor(backend: Backend, nLayer: number, nCtx: number, kvDim: number, f16 = true) {
    this.backend = backend;
    this.nCtx = nCtx;
    this.kvDim = kvDim;
    this.f16 = f16;
    this.dtype = f16 ? 'f16' : 'f32';
    this.kt = [];
    this.vt = [];
    try {
      for (let il = 0; il < nLayer; il++) {
        this.kt.push(backend.alloc(nCtx * kvDim, this.dtype, 'kv'));
        this.vt.push(backend.alloc(nCtx * kvDim, this.dtype, 'kv'));
      }
    } catch (e) {
      for (const t of [...this.kt, ...this.vt]) backend.free(t);
      throw e;
    }
    orphaned.register(this, { backend, tensors: [...this.kt, ...this.vt], live: this.live }, this.live);
  }

  get disposed(): boolean {
    return !this.live.value;
  }

  private check(): void {
    if (!this.live.value) throw new HearthError('invalid_argument', 'this KV cache has been disposed');
  }

  /** Layer il's K cache [nCtx, kvDim]. */
  k(il: number): Tensor {
    this.check();
    return this.kt[il];
  }

  v(il: number): Tensor {
    this.check();
    return this.vt[il];
  }

  get nLayer(): number {
    return this.kt.length;
  }

  /** Bytes per token: nLayer * 2 (K and V) * kvDim * bytes per value. */
  get bytesPerToken(): number {
    return this.kt.length * 2 * this.kvDim * DTYPE_BYTES[this.dtype];
  }

  /** Bytes of the whole cache (nCtx positions). */
  get bytes(): number {
    return this.bytesPerToken * this.nCtx;
  }

  /** Return the memory to the backend now; idempotent. */
  dispose(): void {
    if (!this.live.value) return;
    this.live.value = false;
    orphaned.unregister(this.live);
    for (const t of [...this.kt, ...this.vt]) this.backend.free(t);
  }
}
