// The reference backend: plain TypeScript, single-threaded, the oracle for every fast backend.

import type { Backend } from '../backend.ts';
import { attention } from './attention.ts';
import { matmul, getRow } from './matmul.ts';
import { addBias, addInPlace, rmsNorm, swiglu } from './ops.ts';
import { rope } from './rope.ts';

export interface RefBackendOptions {
  /** Round activations through the weight's vec_dot_type before matmul, as ggml's CPU backend does (default true). */
  roundActivations?: boolean;
}

export function createRefBackend(opts: RefBackendOptions = {}): Backend {
  const round = opts.roundActivations ?? true;
  return {
    name: 'ref',
    allocWeight: (bytes) => new Uint8Array(bytes),
    allocF32: (n) => new Float32Array(n),
    matmul: (w, x, nTokens, y) => matmul(w, x, nTokens, y, round),
    getRow,
    rmsNorm,
    rope,
    attention,
    swiglu,
    add: addInPlace,
    addBias,
    dispose: () => {},
  };
}
