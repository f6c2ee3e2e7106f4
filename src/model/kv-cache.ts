// The key/value cache of one sequence: per layer K and V, each [rows, nHeadKv * headDim], in backend memory.
// With `f16` (the default, as llama.cpp's type_k = type_v = f16) the values are stored as IEEE halves, written by
// the backend's kvStore kernel (which does the rounding); with f16 off they stay f32. dispose() returns the memory
// at once; a cache dropped without it is freed when garbage-collected (a safety net only).
//
// Rows per layer. A full layer has nCtx rows, position p at row p. A sliding-window layer (the model's
// kvWindow(il), window W) keeps only a ring, as llama.cpp's SWA cache (src/llama-kv-cache-iswa.cpp) does:
//   ring rows = GGML_PAD(min(nCtx, W + nUbatch), 256)       (llama.cpp: n_swa * 1 sequence + n_ubatch, padded
//                                                           to 256 "for performance", issue 17037)
// and position p sits at row p % rows. When that is nCtx or more the layer is simply full (nCtx rows). The bytes
// are then sum over layers of rows * 2 (K and V) * kvDim * (2 for f16, 4 for f32): llama.cpp's count for one
// sequence whenever nCtx is a multiple of 256 (llama.cpp pads n_ctx to 256 first; Hearth keeps nCtx as asked,
// so with another nCtx the full layers hold nCtx rows where llama.cpp holds the padded count).
// A ring holds every key a pass needs as long as a pass of m tokens has rows >= W + m - 1: the attention block
// (blocks.ts) splits a segment into chunks of at most rows - W + 1 tokens, so any batch fits.
// After a pass ending at position e - 1 the ring holds positions e - rows .. e - 1. A later pass may start at
// position n (after Context.truncate) only if the keys that position needs, n - W + 1 .. n - 1, were not
// overwritten, by later positions or by positions written before a truncation: canResume(n) is that rule, over
// the position each ring row holds (recorded by noteWrite, which the decoder calls for every pass).

import { HearthError } from '../util/errors.ts';
import { DTYPE_BYTES, view, type Backend, type DType, type Tensor } from '../kernels/backend.ts';

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

/** llama.cpp pads its SWA cache to this many cells. */
export const SWA_PAD = 256;
/** The tokens per micro-batch llama.cpp sizes its SWA cache for by default (n_ubatch), and Hearth's nBatch. */
export const DEFAULT_UBATCH = 512;

/** Which layers keep a ring: `window(il)` is layer il's sliding window (undefined: a full layer). */
export interface KVLayout {
  window?: (il: number) => number | undefined;
  /** Tokens per batch the rings are sized for (default 512, llama.cpp's n_ubatch). */
  nUbatch?: number;
  /** Ring rows are a multiple of this (default 256, llama.cpp's; tests take 1 for tight rings). */
  pad?: number;
}

/** Rows of a window layer's ring for a context of nCtx (undefined: nCtx rows or fewer would do, so a full layer). */
export function ringRows(nCtx: number, window: number, nUbatch = DEFAULT_UBATCH, pad = SWA_PAD): number | undefined {
  const rows = Math.ceil(Math.min(nCtx, window + nUbatch) / pad) * pad;
  return rows >= nCtx ? undefined : rows;
}

/** Bytes of a cache of this shape, as the KVCache constructor would allocate it (what LoadedModel.kvBytes reports). */
export function kvCacheBytes(nLayer: number, nCtx: number, kvDim: number, f16 = true, layout: KVLayout = {}): number {
  let rows = 0;
  for (let il = 0; il < nLayer; il++) {
    const w = layout.window?.(il);
    rows += (w === undefined ? undefined : ringRows(nCtx, w, layout.nUbatch, layout.pad)) ?? nCtx;
  }
  return rows * 2 * kvDim * (f16 ? 2 : 4);
}

export class KVCache {
  readonly nCtx: number;
  readonly kvDim: number;
  readonly f16: boolean;
  readonly dtype: DType;
  readonly backend: Backend;
  private readonly kt: Tensor[];
  private readonly vt: Tensor[];
  /** Per layer: [window, ring rows] of a ring layer, undefined for a full one. */
  private readonly rings: ([number, number] | undefined)[];
  private readonly live = { value: true };
  private hw = 0;
  /** Per ring size: the position each row holds (-1: none yet), as the passes recorded by noteWrite wrote them. */
  private readonly held = new Map<number, Int32Array>();

  constructor(backend: Backend, nLayer: number, nCtx: number, kvDim: number, f16 = true, layout: KVLayout = {}) {
    this.backend = backend;
    this.nCtx = nCtx;
    this.kvDim = kvDim;
    this.f16 = f16;
    this.dtype = f16 ? 'f16' : 'f32';
    this.kt = [];
    this.vt = [];
    this.rings = [];
    const nUbatch = layout.nUbatch ?? DEFAULT_UBATCH;
    const pad = layout.pad ?? SWA_PAD;
    if (!Number.isInteger(nUbatch) || nUbatch < 1) throw new HearthError('invalid_argument', `KV cache: nUbatch ${nUbatch}`);
    if (!Number.isInteger(pad) || pad < 1) throw new HearthError('invalid_argument', `KV cache: pad ${pad}`);
    try {
      for (let il = 0; il < nLayer; il++) {
        const w = layout.window?.(il);
        if (w !== undefined && (!Number.isInteger(w) || w < 1)) {
          throw new HearthError('model_invalid', `layer ${il}: a sliding window of ${w} positions`);
        }
        const rows = w === undefined ? undefined : ringRows(nCtx, w, nUbatch, pad);
        this.rings.push(rows === undefined ? undefined : [w!, rows]);
        if (rows !== undefined && !this.held.has(rows)) this.held.set(rows, new Int32Array(rows).fill(-1));
        this.kt.push(backend.alloc((rows ?? nCtx) * kvDim, this.dtype, 'kv'));
        this.vt.push(backend.alloc((rows ?? nCtx) * kvDim, this.dtype, 'kv'));
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

  /** Layer il's K cache [rows(il), kvDim]. */
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

  /** Rows of layer il's ring, or undefined for a full layer (nCtx rows, position p at row p). */
  ring(il: number): number | undefined {
    return this.rings[il]?.[1];
  }

  /** Rows layer il holds. */
  rows(il: number): number {
    return this.ring(il) ?? this.nCtx;
  }

  /** One past the last position of the last pass (0 for a fresh cache). */
  get written(): number {
    return this.hw;
  }

  /**
   * Whether a pass may start at position n: every key position n needs on every ring layer (window W: n - W + 1 ..
   * n - 1) still sits in its row, not overwritten by a later position (or a position written before a truncation).
   * Full layers always can: what they hold below n is what was written there last.
   */
  canResume(n: number): boolean {
    if (n === 0) return true;
    for (const r of this.rings) {
      if (!r) continue;
      const held = this.held.get(r[1])!;
      for (let p = Math.max(0, n - r[0] + 1); p < n; p++) if (held[p % r[1]] !== p) return false;
    }
    return true;
  }

  /** Throws unless a pass may start at pos0 (canResume). */
  checkResume(pos0: number): void {
    if (!this.canResume(pos0)) {
      throw new HearthError('invalid_argument', `KV cache: a sliding-window ring no longer holds the keys position ${pos0} ` +
        'needs (later positions were written over them)');
    }
  }

  /** Records a pass over positions pos0 .. pos0 + nTokens - 1 on every layer (checkResume(pos0) first). */
  noteWrite(pos0: number, nTokens: number): void {
    this.checkResume(pos0);
    for (const [R, held] of this.held) {
      for (let p = Math.max(pos0, pos0 + nTokens - R); p < pos0 + nTokens; p++) held[p % R] = p;
    }
    this.hw = pos0 + nTokens;
  }

  /**
   * Write the K and V rows [nTokens, kvDim] of positions pos0.. into layer il (a ring's rows wrap around; a ring
   * takes at most its row count at once).
   */
  store(il: number, k: Tensor, v: Tensor, pos0: number, nTokens: number): void {
    const R = this.ring(il);
    const d = this.kvDim;
    const kc = this.k(il);
    const vc = this.v(il);
    if (R === undefined) {
      this.backend.kvStore(k, v, view(kc, pos0 * d, nTokens * d), view(vc, pos0 * d, nTokens * d));
      return;
    }
    if (nTokens > R) throw new HearthError('internal', `KV cache: ${nTokens} rows into a ring of ${R}`);
    const row = pos0 % R;
    const first = Math.min(nTokens, R - row);
    this.backend.kvStore(view(k, 0, first * d), view(v, 0, first * d), view(kc, row * d, first * d), view(vc, row * d, first * d));
    if (first < nTokens) {
      const rest = (nTokens - first) * d;
      this.backend.kvStore(view(k, first * d, rest), view(v, first * d, rest), view(kc, 0, rest), view(vc, 0, rest));
    }
  }

  /** Layer il's sliding window when it is a ring. */
  ringWindow(il: number): number | undefined {
    return this.rings[il]?.[0];
  }

  /** Bytes per token of a full layer set: nLayer * 2 (K and V) * kvDim * bytes per value (rings cost less). */
  get bytesPerToken(): number {
    return this.kt.length * 2 * this.kvDim * DTYPE_BYTES[this.dtype];
  }

  /** Bytes of the whole cache: every layer's rows (nCtx, or its ring's). */
  get bytes(): number {
    let rows = 0;
    for (let il = 0; il < this.kt.length; il++) rows += this.rows(il);
    return rows * 2 * this.kvDim * DTYPE_BYTES[this.dtype];
  }

  /** Return the memory to the backend now; idempotent. */
  dispose(): void {
    if (!this.live.value) return;
    this.live.value = false;
    orphaned.unregister(this.live);
    for (const t of [...this.kt, ...this.vt]) this.backend.free(t);
  }
}
