// Which tensor types have a wasm matmul kernel, and the activation format each pairs with (ggml's
// vec_dot_type, in the layouts of assembly/quantize.ts).

import { GGMLType } from '../../gguf/ggml-types.ts';

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

/** Bytes of the activation buffer for nTok rows: the rows, plus the Q8 layout's transposed scales. */
export function actBytes(kind: ActKind, cols: number, nTok: number): number {
  const rows = actStride(kind, cols) * nTok;
  return kind === 'q8' ? rows + 12 * (cols / 32) * (Math.ceil(nTok / 4) * 4) : rows;
}

/** Bytes per token row of activations: quantized rows are 16-byte aligned, float rows packed. */
export function actStride(kind: ActKind, cols: number): number {
  if (kind !== 'q8' && kind !== 'q8k') return cols * 4;
  const bytes = kind === 'q8' ? cols + 12 * (cols / 32) : cols + 116 * (cols / 256);
  return Math.ceil(bytes / 16) * 16;
}
