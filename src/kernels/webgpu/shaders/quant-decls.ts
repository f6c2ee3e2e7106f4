// Per-type WGSL declarations: how to decode 32 consecutive elements (one "chunk") of a packed weight row.
// Every matmul / get-rows shader is one template plus one of these, so a type is added by adding a row here.
// The weight is bound as `W: array<u32>` (WGSL has no byte arrays); blocks of 18, 34 or 210 bytes are only
// 2-byte aligned, so words are read at any byte offset through ld32. Buffers carry 4 bytes of padding past the
// last row so the unaligned read of the final word stays in bounds.
// Layouts follow src/quant/ref/*.ts exactly (and so ggml's block_* structs).

import { GGMLType } from '../../../gguf/ggml-types.ts';

/** Reads shared by every type. */
export const WEIGHT_READS = /* wgsl */ `
fn ld32(b: u32) -> u32 {
  let i = b >> 2u;
  let s = (b & 3u) * 8u;
  if (s == 0u) { return W[i]; }
  return (W[i] >> s) | (W[i + 1u] << (32u - s));
}
fn byte_at(b: u32) -> u32 { return (W[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu; }
fn half_at(b: u32) -> f32 { return unpack2x16float((W[b >> 2u] >> ((b & 2u) * 8u)) & 0xffffu).x; }
fn i8_of(word: u32, k: u32) -> f32 { return f32(bitcast<i32>(word << (24u - 8u * k)) >> 24u); }
`;

export interface QuantDecl {
  /** Elements per block and bytes per block (as TYPE_LAYOUTS). */
  readonly blockElems: number;
  readonly blockBytes: number;
  /** fn decode(rb: u32, c: u32, cols: u32, o: ptr<function, array<f32, 32>>): chunk c of the row at byte rb. */
  readonly wgsl: string;
}

const F32: QuantDecl = {
  blockElems: 1, blockBytes: 4, wgsl: /* wgsl */ `
fn decode(rb: u32, c: u32, cols: u32, o: ptr<function, array<f32, 32>>) {
  let base = rb >> 2u;
  for (var i = 0u; i < 32u; i++) {
    let e = c * 32u + i;
    (*o)[i] = select(0.0, bitcast<f32>(W[base + min(e, cols - 1u)]), e < cols);
  }
}`,
};

const F16: QuantDecl = {
  blockElems: 1, blockBytes: 2, wgsl: /* wgsl */ `
fn decode(rb: u32, c: u32, cols: u32, o: ptr<function, array<f32, 32>>) {
  for (var i = 0u; i < 32u; i++) {
    let e = c * 32u + i;
    (*o)[i] = select(0.0, half_at(rb + 2u * min(e, cols - 1u)), e < cols);
  }
}`,
};

// block_q4_0: f16 d; u8 qs[16]. Element j < 16 is the low nibble of qs[j], j >= 16 the high nibble of qs[j-16].
const Q4_0: QuantDecl = {
  blockElems: 32, blockBytes: 18, wgsl: /* wgsl */ `
fn decode(rb: u32, c: u32, cols: u32, o: ptr<function, array<f32, 32>>) {
  let off = rb + c * 18u;
  let d = half_at(off);
  for (var k = 0u; k < 4u; k++) {
    let q = ld32(off + 2u + 4u * k);
    for (var b = 0u; b < 4u; b++) {
      let v = (q >> (8u * b)) & 0xffu;
      (*o)[4u * k + b] = (f32(v & 0xfu) - 8.0) * d;
      (*o)[4u * k + b + 16u] = (f32(v >> 4u) - 8.0) * d;
    }
  }
}`,
};

// block_q8_0: f16 d; i8 qs[32].
const Q8_0: QuantDecl = {
  blockElems: 32, blockBytes: 34, wgsl: /* wgsl */ `
fn decode(rb: u32, c: u32, cols: u32, o: ptr<function, array<f32, 32>>) {
  let off = rb + c * 34u;
  let d = half_at(off);
  for (var k = 0u; k < 8u; k++) {
    let q = ld32(off + 2u + 4u * k);
    for (var b = 0u; b < 4u; b++) { (*o)[4u * k + b] = i8_of(q, b) * d; }
  }
}`,
};

// block_q4_K (144 bytes): f16 d, f16 dmin, u8 scales[12], u8 qs[128]; 8 groups of 32 with 6-bit scale/min.
// Group j reads qs[32*(j/2) + l], low nibble for even j, high for odd (ggml's get_scale_min_k4 for the scales).
const Q4_K: QuantDecl = {
  blockElems: 256, blockBytes: 144, wgsl: /* wgsl */ `
fn scale_min_k4(sc: u32, j: u32) -> vec2<u32> {
  if (j < 4u) { return vec2<u32>(byte_at(sc + j) & 63u, byte_at(sc + j + 4u) & 63u); }
  let a = byte_at(sc + j + 4u);
  return vec2<u32>((a & 0xfu) | ((byte_at(sc + j - 4u) >> 6u) << 4u), (a >> 4u) | ((byte_at(sc + j) >> 6u) << 4u));
}
fn decode(rb: u32, c: u32, cols: u32, o: ptr<function, array<f32, 32>>) {
  let off = rb + (c / 8u) * 144u;
  let j = c % 8u;
  let sm = scale_min_k4(off + 4u, j);
  let d = half_at(off) * f32(sm.x);
  let m = half_at(off + 2u) * f32(sm.y);
  let qs = off + 16u + 32u * (j / 2u);
  let shift = (j & 1u) * 4u;
  for (var k = 0u; k < 8u; k++) {
    let q = ld32(qs + 4u * k) >> shift;
    for (var b = 0u; b < 4u; b++) { (*o)[4u * k + b] = d * f32((q >> (8u * b)) & 0xfu) - m; }
  }
}`,
};

// block_q6_K (210 bytes): u8 ql[128], u8 qh[64], i8 scales[16], f16 d. Chunk j of a super-block is quarter
// k = j % 4 of half h = j / 4: low nibbles (k < 2) or high nibbles (k >= 2) of ql[64h + 32(k&1) + l], top bits
// (qh[32h + l] >> 2k) & 3, scale scales[8h + 2k + l/16].
const Q6_K: QuantDecl = {
  blockElems: 256, blockBytes: 210, wgsl: /* wgsl */ `
fn decode(rb: u32, c: u32, cols: u32, o: ptr<function, array<f32, 32>>) {
  let off = rb + (c / 8u) * 210u;
  let j = c % 8u;
  let h = j / 4u;
  let k = j % 4u;
  let d = half_at(off + 208u);
  let sc = off + 192u + 8u * h + 2u * k;
  let d0 = d * f32(bitcast<i32>(byte_at(sc) << 24u) >> 24u);
  let d1 = d * f32(bitcast<i32>(byte_at(sc + 1u) << 24u) >> 24u);
  let ql = off + 64u * h + 32u * (k & 1u);
  let qh = off + 128u + 32u * h;
  let ls = (k >> 1u) * 4u;
  for (var w = 0u; w < 8u; w++) {
    let lo = ld32(ql + 4u * w) >> ls;
    let hi = ld32(qh + 4u * w) >> (2u * k);
    let dd = select(d1, d0, w < 4u);
    for (var b = 0u; b < 4u; b++) {
      let q = ((lo >> (8u * b)) & 0xfu) | (((hi >> (8u * b)) & 3u) << 4u);
      (*o)[4u * w + b] = dd * f32(i32(q) - 32);
    }
  }
}`,
};

const DECLS = new Map<number, QuantDecl>([
  [GGMLType.F32, F32], [GGMLType.F16, F16], [GGMLType.Q4_0, Q4_0], [GGMLType.Q8_0, Q8_0],
  [GGMLType.Q4_K, Q4_K], [GGMLType.Q6_K, Q6_K],
]);

/** The declaration for a type with a native kernel, or undefined (the weight is converted on upload). */
export function quantDecl(type: number): QuantDecl | undefined {
  return DECLS.get(type);
}

export function nativeTypes(): number[] {
  return [...DECLS.keys()];
}
