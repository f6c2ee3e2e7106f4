// The key/value cache of one sequence: per layer [nCtx, nHeadKv * headDim] for K and V.
// Stored as f32 arrays; with `f16` (the default, as llama.cpp) every value is rounded to half precision on write,
// which is exactly what an f16 cache holds.

import { f16Table, f32ToF16 } from '../util/f16.ts';

export class KVCache {
  readonly nCtx: number;
  readonly kvDim: number;
  readonly f16: boolean;
  readonly k: Float32Array[];
  readonly v: Float32Array[];

  constructor(nLayer: number, nCtx: number, kvDim: number, f16 = true,
    alloc: (n: number) => Float32Array = (n) => new Float32Array(n)) {
    this.nCtx = nCtx;
    this.kvDim = kvDim;
    this.f16 = f16;
    this.k = Array.from({ length: nLayer }, () => alloc(nCtx * kvDim));
    this.v = Array.from({ length: nLayer }, () => alloc(nCtx * kvDim));
  }

  /** Write nTokens rows of K and V for one layer starting at position pos0. */
  write(layer: number, pos0: number, k: Float32Array, v: Float32Array, nTokens: number): void {
    const n = nTokens * this.kvDim;
    const o = pos0 * this.kvDim;
    const kc = this.k[layer];
    const vc = this.v[layer];
    if (this.f16) {
      const tab = f16Table();
      for (let i = 0; i < n; i++) {
        kc[o + i] = tab[f32ToF16(k[i])];
        vc[o + i] = tab[f32ToF16(v[i])];
      }
    } else {
      kc.set(k.subarray(0, n), o);
      vc.set(v.subarray(0, n), o);
    }
  }

  get bytes(): number {
    return this.k.length * 2 * this.nCtx * this.kvDim * (this.f16 ? 2 : 4);
  }
}
