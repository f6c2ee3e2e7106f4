// Which tensor types have a wasm matmul kernel, and the activation format each pairs with (ggml's
// vec_dot_type, in the layouts of assembly/quantize.ts).

import { GGMLType, typeLayout } from '../../gguf/ggml-types.ts';

/** q8: Q8_0-style 32-blocks (also stands for Q8_1); q8k: Q8_K; f32/f16/bf16: floats rounded to that type. */
export type ActKind = 'q8' | 'q8k' | 'f32' | 'f16' | 'bf16';

const KERNELS = new Map<number, ActKind>([
  [GGMLType.F32, 'f32'], [GGMLType.F16, 'f16'], [GGMLType.BF16, 'bf16'],
  [GGMLType.Q4_0, 'q8'], [GGMLType.Q4_1, 'q8'], [GGMLType.Q5_0, 'q8'], [GGMLType.Q5_1, 'q8'], [GGMLType.Q8_0, 'q8'],
  [GGMLType.Q2_K, 'q8k'], [GGMLType.Q3_K, 'q8k'], [GGMLType.Q4_K, 'q8k'], [GGMLType.Q5_K, 'q8k'], [GGMLType.Q6_K, 'q8k'],
]);

export function actKind(type: number): ActKind | undefined {
  return KERNELS.get(type);
}

/** Types with a kernel. */
export function kernelTypes(): number[] {
  return [...KERNELS.keys()];
}

// Elements per block of the two activation formats, from the type table.
const QK8 = typeLayout(GGMLType.Q8_0)!.blockSize;
const QK_K = typeLayout(GGMLType.Q8_K)!.blockSize;
// Bytes per block beside the i8 quants in this module's layouts (assembly/quantize.ts): Q8 keeps f32 d, i32 sum
// and f32 s; Q8_K keeps f32 d, 16 i32 and 16 i16 sums of 16, and 8 i16 sums of 32.
const Q8_EXTRA = 4 + 4 + 4;
const Q8K_EXTRA = 4 + 16 * 4 + 16 * 2 + 8 * 2;

/** Bytes of the activation buffer for nTok rows: the rows, plus the Q8 layout's transposed scales. */
export function actBytes(kind: ActKind, cols: number, nTok: number): number {
  const rows = actStride(kind, cols) * nTok;
  return kind === 'q8' ? rows + Q8_EXTRA * (cols / QK8) * (Math.ceil(nTok / 4) * 4) : rows;
}

/** Bytes per token row of activations: quantized rows are 16-byte aligned, float rows packed. */
export function actStride(kind: ActKind, cols: number): number {
  if (kind !== 'q8' && kind !== 'q8k') return cols * 4;
  const bytes = kind === 'q8' ? cols + Q8_EXTRA * (cols / QK8) : cols + Q8K_EXTRA * (cols / QK_K);
  return Math.ceil(bytes / 16) * 16;
}
