// The wasm kernels of the ops newer architectures need (layernorm, gelu in its tanh and erf forms, geglu),
// callable on any WasmHeap before the Backend interface grows these ops: createExtraOps(heap) instantiates the
// kernel module on the heap's memory. Every array must live in that memory (heap.owns(view)); a backend wires
// these in and stages foreign arrays as it does for rmsNorm. Each op computes what ref/ computes (see there).

import { HearthError } from '../../util/errors.ts';
import type { WasmHeap } from './heap.ts';
import { kernelModule } from './module.ts';
import { wasm } from './wasm-api.ts';

interface ExtraExports {
  initConstants(): void;
  layerNorm(x: number, weight: number, bias: number, eps: number, n: number, nTok: number, out: number): void;
  gelu(x: number, n: number): void;
  geglu(gate: number, up: number, n: number): void;
  geluErf(x: number, n: number): void;
}

export interface ExtraOps {
  /** out[t] = (x[t] - mean) / sqrt(var + eps) * weight + bias; identical to ref/layer-norm.ts. */
  layerNorm(x: Float32Array, weight: Float32Array | undefined, bias: Float32Array | undefined, eps: number, n: number,
    nTokens: number, out: Float32Array): void;
  /** x = gelu(x), tanh form rounded through f16 as ggml's CPU table (ref/gelu.ts gelu). */
  gelu(x: Float32Array, n?: number): void;
  /** gate = gelu(gate) * up (ref/gelu.ts geglu). */
  geglu(gate: Float32Array, up: Float32Array, n?: number): void;
  /** x = 0.5 x (1 + erf(x / sqrt 2)) (ref/gelu.ts geluErf, to the bound in extra-ops.test.ts). */
  geluErf(x: Float32Array, n?: number): void;
}

/** The extra ops on `heap`'s memory; `relaxed` picks the kernel build as kernelModule does. */
export function createExtraOps(heap: WasmHeap, relaxed?: boolean): ExtraOps {
  const ex = new wasm.Instance(kernelModule(relaxed).module, { env: { memory: heap.memory } }).exports as unknown as ExtraExports;
  ex.initConstants();
  function ptr(v: Float32Array, n: number, name: string): number {
    if (!heap.owns(v)) throw new HearthError('invalid_argument', `${name} must live in this heap's memory`);
    if (v.length < n) throw new HearthError('invalid_argument', `${name}: need ${n} floats, got ${v.length}`);
    return v.byteOffset;
  }
  return {
    layerNorm(x, weight, bias, eps, n, nTokens, out) {
      ex.layerNorm(ptr(x, n * nTokens, 'x'), weight ? ptr(weight, n, 'weight') : 0, bias ? ptr(bias, n, 'bias') : 0,
        eps, n, nTokens, ptr(out, n * nTokens, 'out'));
    },
    gelu(x, n = x.length) {
      ex.gelu(ptr(x, n, 'x'), n);
    },
    geglu(gate, up, n = gate.length) {
      ex.geglu(ptr(gate, n, 'gate'), ptr(up, n, 'up'), n);
    },
    geluErf(x, n = x.length) {
      ex.geluErf(ptr(x, n, 'x'), n);
    },
  };
}
