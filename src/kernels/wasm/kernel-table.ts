// Which tensor types have a wasm matmul kernel, and the activation format each pairs with (ggml's
// vec_dot_type, in the layouts of assembly/quantize.ts).

import { GGMLType } from '../../gguf/ggml-types.ts';

/** q8: Q8_0-style 32-blocks (also stands for Q8_1); q8k: Q8_K; f32/f16/bf16: floats rounded to that type. */
export type ActKind = 'q8' | 'q8k' | 'f32' | 'f16' | 'bf16';

const KERNELS = new Map<number, ActKind>([
  [GGMLType.Q4_0, 'q8'], [GGMLType.Q4_1, 'q8'], [GGMLType.Q5_0, 'q8'], [GGMLType.Q5_1, 'q8'], [GGMLType.Q8_0, 'q8'],
]);

export function actKind(type: number): ActKind | undefined {
  return KERNELS.get(type);
}

/** Types with a kernel. */
export function kernelTypes(): number[] {
  return [...KERNELS.keys()];
}

/** Bytes per token row of quantized activations (16-byte aligned). */
export function actStride(kind: ActKind, cols: number): number {
  const bytes = kind === 'q8' ? cols + 8 * (cols / 32)
    : kind === 'q8k' ? cols + 4 * (cols / 256) + 64 * (cols / 256)
      : cols * 4;
  return Math.ceil(bytes / 16) * 16;
}
