// Entry of the kernel module. Parallel ops run through run(op, ctl, ith, nth) on every thread; their
// arguments are i32 slots in the control block (layout in ../abi.ts) and work is handed out in chunks by an
// atomic counter, so a slow thread takes fewer chunks. Single-threaded helpers are exported directly.

import { attendOne } from './attention';
import { gelu, geglu, geluErf, layerNorm, swiglu } from './ops';
import { mmBF16, mmF16, mmF32 } from './matmul-float';
import { mmQ2_K, mmQ3_K } from './matmul-k-low';
import { mmQ4_K, mmQ5_K, mmQ6_K } from './matmul-k';
import { mmQ4_0, mmQ4_1, mmQ5_0, mmQ5_1, mmQ8_0 } from './matmul-q32';
import {
  TYPE_BF16, TYPE_F16, TYPE_F32, TYPE_Q2_K, TYPE_Q3_K, TYPE_Q4_0, TYPE_Q4_1, TYPE_Q4_K, TYPE_Q5_0, TYPE_Q5_1,
  TYPE_Q5_K, TYPE_Q6_K, TYPE_Q8_0,
} from './types.generated';

export { quantizeWeights } from './quantize-weights';
export { quantizeQ8, quantizeQ8K, roundRowsF16, roundRowsBF16, storeF16, loadF16 } from './quantize';
export { rmsNorm, swiglu, add, addBias, layerNorm, gelu, geglu, geluErf, scale, softcap } from './ops';
export { initConstants } from './consts';

// Keep in step with ../abi.ts.
const OP_MATMUL = 1;
const OP_ATTENTION = 2;
const OP_ELEMENTWISE = 3;
const EW_GELU = 1;
const EW_GELU_ERF = 2;
const EW_GEGLU = 3;
const EW_SWIGLU = 4;
const EW_LAYER_NORM = 5;
const CTL_COUNTER: usize = 64;
const CTL_ARGS: usize = 128;

@inline function arg(ctl: usize, i: usize): i32 {
  return load<i32>(ctl + CTL_ARGS + (i << 2));
}

/** The next chunk index for this op (a shared counter reset to 0 before each dispatch). */
@inline function nextChunk(ctl: usize): i32 {
  return atomic.add<i32>(ctl + CTL_COUNTER, 1);
}

function matmul(ctl: usize): void {
  const type = arg(ctl, 0);
  const w = <usize>arg(ctl, 1);
  const rb = <usize>arg(ctl, 2);
  const cols = arg(ctl, 3);
  const act = <usize>arg(ctl, 4);
  const as = <usize>arg(ctl, 5);
  const nTok = arg(ctl, 6);
  const y = <usize>arg(ctl, 7);
  const rows = arg(ctl, 8);
  const chunk = arg(ctl, 9);
  for (;;) {
    const r0 = nextChunk(ctl) * chunk;
    if (r0 >= rows) break;
    const r1 = min(rows, r0 + chunk);
    switch (type) {
      case TYPE_F32: mmF32(w, rb, cols, act, as, nTok, y, rows, r0, r1); break;
      case TYPE_F16: mmF16(w, rb, cols, act, as, nTok, y, rows, r0, r1); break;
      case TYPE_BF16: mmBF16(w, rb, cols, act, as, nTok, y, rows, r0, r1); break;
      case TYPE_Q4_0: mmQ4_0(w, rb, cols, act, as, nTok, y, rows, r0, r1); break;
      case TYPE_Q4_1: mmQ4_1(w, rb, cols, act, as, nTok, y, rows, r0, r1); break;
      case TYPE_Q5_0: mmQ5_0(w, rb, cols, act, as, nTok, y, rows, r0, r1); break;
      case TYPE_Q5_1: mmQ5_1(w, rb, cols, act, as, nTok, y, rows, r0, r1); break;
      case TYPE_Q8_0: mmQ8_0(w, rb, cols, act, as, nTok, y, rows, r0, r1); break;
      case TYPE_Q2_K: mmQ2_K(w, rb, cols, act, as, nTok, y, rows, r0, r1); break;
      case TYPE_Q3_K: mmQ3_K(w, rb, cols, act, as, nTok, y, rows, r0, r1); break;
      case TYPE_Q4_K: mmQ4_K(w, rb, cols, act, as, nTok, y, rows, r0, r1); break;
      case TYPE_Q5_K: mmQ5_K(w, rb, cols, act, as, nTok, y, rows, r0, r1); break;
      case TYPE_Q6_K: mmQ6_K(w, rb, cols, act, as, nTok, y, rows, r0, r1); break;
      default: unreachable();
    }
  }
}

function attention(ctl: usize, ith: i32): void {
  const q = <usize>arg(ctl, 0);
  const k = <usize>arg(ctl, 1);
  const v = <usize>arg(ctl, 2);
  const out = <usize>arg(ctl, 3);
  const nTok = arg(ctl, 4);
  const pos0 = arg(ctl, 5);
  const nHead = arg(ctl, 6);
  const nHeadKv = arg(ctl, 7);
  const headDim = arg(ctl, 8);
  const scale = reinterpret<f32>(arg(ctl, 9));
  const f16 = arg(ctl, 10) != 0;
  const scratch = <usize>arg(ctl, 11) + <usize>ith * <usize>arg(ctl, 12);
  const kvF16 = arg(ctl, 13) != 0;
  const causal = arg(ctl, 14) != 0;
  const window = arg(ctl, 15);
  const cap = reinterpret<f32>(arg(ctl, 16));
  const ring = arg(ctl, 17);
  const items = nTok * nHead;
  for (;;) {
    const i = nextChunk(ctl);
    if (i >= items) break;
    attendOne(q, k, v, out, i / nHead, i % nHead, pos0, nTok, nHead, nHeadKv, headDim, scale, f16, kvF16,
      causal, window, cap, ring, scratch);
  }
}

/**
 * One element-wise op over chunks of `chunk` elements (a multiple of 4, so every element is computed by the
 * same vector or tail code as the single-threaded kernel would), or layer norm over chunks of rows.
 */
function elementwise(ctl: usize): void {
  const kind = arg(ctl, 0);
  const a = <usize>arg(ctl, 1);
  const b = <usize>arg(ctl, 2);
  const n = arg(ctl, 3);
  const chunk = arg(ctl, 4);
  for (;;) {
    const i0 = nextChunk(ctl) * chunk;
    if (i0 >= n) break;
    const len = min(n - i0, chunk);
    if (kind == EW_LAYER_NORM) {
      // n rows of `width`: a, b = x, out; weight, bias, eps, width in slots 5..8
      const width = <usize>arg(ctl, 8);
      const off = <usize>i0 * width << 2;
      layerNorm(a + off, <usize>arg(ctl, 5), <usize>arg(ctl, 6), reinterpret<f32>(arg(ctl, 7)), <i32>width, len, b + off);
      continue;
    }
    const off = <usize>i0 << 2;
    switch (kind) {
      case EW_GELU: gelu(a + off, len); break;
      case EW_GELU_ERF: geluErf(a + off, len); break;
      case EW_GEGLU: geglu(a + off, b + off, len); break;
      case EW_SWIGLU: swiglu(a + off, b + off, len); break;
      default: unreachable();
    }
  }
}

export function run(op: i32, ctl: usize, ith: i32, nth: i32): void {
  switch (op) {
    case OP_MATMUL: matmul(ctl); break;
    case OP_ATTENTION: attention(ctl, ith); break;
    case OP_ELEMENTWISE: elementwise(ctl); break;
    default: unreachable();
  }
}
