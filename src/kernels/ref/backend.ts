// The reference backend: plain TypeScript, single-threaded, the oracle for every fast backend.
// A tensor handle names a TypeScript array: Float32Array for f32, Uint16Array (half bits) for f16.

import { f16Table, f32ToF16 } from '../../util/f16.ts';
import { HearthError } from '../../util/errors.ts';
import { DTYPE_BYTES, need, type Backend, type DType, type MemoryReport, type MemoryUse, type Tensor } from '../backend.ts';
import { attention } from './attention.ts';
import { gelu, geglu, geluErf } from './gelu.ts';
import { layerNorm } from './layer-norm.ts';
import { matmul, getRow } from './matmul.ts';
import { matmulId, moeCombine, moeRoute } from './moe.ts';
import { addBias, addInPlace, rmsNorm, swiglu } from './ops.ts';
import { rope } from './rope.ts';
import { scale, softcap } from './scale.ts';

export interface RefBackendOptions {
  /** Round activations through the weight's vec_dot_type before matmul, as ggml's CPU backend does (default true). */
  roundActivations?: boolean;
}

interface Buffer { data: Float32Array | Uint16Array; use: MemoryUse }

export function createRefBackend(opts: RefBackendOptions = {}): Backend {
  const round = opts.roundActivations ?? true;
  const buffers = new Map<number, Buffer>();
  let nextHandle = 1;
  let weightBytes = 0;

  function buffer(t: Tensor): Buffer {
    const b = buffers.get(t.handle);
    if (!b) throw new HearthError('invalid_argument', `ref: tensor handle ${t.handle} is not allocated (freed?)`);
    return b;
  }
  /** The f32 elements of t, as a view that writes through. */
  function f32(t: Tensor): Float32Array {
    const d = buffer(t).data;
    if (!(d instanceof Float32Array)) throw new HearthError('invalid_argument', 'ref: this op takes an f32 tensor');
    return d.subarray(t.offset, t.offset + t.length);
  }
  function raw(t: Tensor): Float32Array | Uint16Array {
    return buffer(t).data.subarray(t.offset, t.offset + t.length);
  }
  function store(src: Float32Array, dst: Tensor): void {
    const d = raw(dst);
    if (d instanceof Float32Array) d.set(src.subarray(0, d.length));
    else for (let i = 0; i < d.length; i++) d[i] = f32ToF16(src[i]);
  }

  return {
    name: 'ref',
    allocWeight(bytes) {
      weightBytes += bytes;
      return new Uint8Array(bytes);
    },
    adoptWeight: (w) => w,
    alloc(n: number, dtype: DType, use: MemoryUse): Tensor {
      const handle = nextHandle++;
      buffers.set(handle, { data: dtype === 'f32' ? new Float32Array(n) : new Uint16Array(n), use });
      return { handle, offset: 0, length: n, dtype };
    },
    upload: (t, data) => store(data, t),
    read(t) {
      const d = raw(t);
      if (d instanceof Float32Array) return d.slice();
      const tab = f16Table();
      return Float32Array.from(d, (h) => tab[h]);
    },
    free(t) {
      buffer(t);
      buffers.delete(t.handle);
    },
    submit: () => {},
    memory(): MemoryReport {
      const m = { weights: weightBytes, kv: 0, scratch: 0 };
      for (const b of buffers.values()) m[b.use] += b.data.length * DTYPE_BYTES[b.data instanceof Float32Array ? 'f32' : 'f16'];
      return m;
    },
    getRows(w, ids, out) {
      need(out, ids.length * w.cols, 'getRows output');
      const o = f32(out);
      ids.forEach((id, t) => getRow(w, id, o.subarray(t * w.cols, (t + 1) * w.cols)));
    },
    matmul: (w, x, nTokens, y) => matmul(w, f32(x), nTokens, f32(y), round),
    rmsNorm: (x, weight, eps, n, nTokens, out) => rmsNorm(f32(x), f32(weight), eps, n, nTokens, f32(out)),
    rope: (x, nTokens, nHead, headDim, positions, p) => rope(f32(x), nTokens, nHead, headDim, positions, p),
    kvStore(k, v, kCache, vCache) {
      store(f32(k), kCache);
      store(f32(v), vCache);
    },
    attention: (q, kCache, vCache, nTokens, pos0, s, out, o) =>
      attention(f32(q), raw(kCache), raw(vCache), nTokens, pos0, s, f32(out), o),
    swiglu: (gate, up, n) => swiglu(f32(gate), f32(up), n),
    layerNorm: (x, weight, bias, eps, n, nTokens, out) =>
      layerNorm(f32(x), weight && f32(weight), bias && f32(bias), eps, n, nTokens, f32(out)),
    gelu: (x, n) => gelu(f32(x), n),
    geluErf: (x, n) => geluErf(f32(x), n),
    geglu: (gate, up, n) => geglu(f32(gate), f32(up), n),
    scale: (x, s, n) => scale(f32(x), s, n),
    softcap: (x, cap, n) => softcap(f32(x), cap, n),
    add: (a, b, n) => addInPlace(f32(a), f32(b), n),
    addBias: (x, bias, n, nTokens) => addBias(f32(x), f32(bias), n, nTokens),
    moeRoute(logits, nTokens, nExpert, nUsed, normalize) {
      need(logits, nTokens * nExpert, 'moeRoute logits');
      return moeRoute(f32(logits), nTokens, nExpert, nUsed, normalize);
    },
    matmulId(experts, x, src, ids, y) {
      need(y, ids.length * experts[0].rows, 'matmulId output');
      matmulId(experts, f32(x), src, ids, f32(y), round);
    },
    moeCombine(experts, weights, nTokens, nUsed, n, out) {
      need(experts, nTokens * nUsed * n, 'moeCombine experts');
      need(out, nTokens * n, 'moeCombine output');
      moeCombine(f32(experts), weights, nTokens, nUsed, n, f32(out));
    },
    dispose: () => buffers.clear(),
  };
}
