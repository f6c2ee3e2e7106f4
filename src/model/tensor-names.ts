// Tensor names, written once. tensorName('attn_norm', 'weight', 3) -> 'blk.3.attn_norm.weight'.
// Base names are open strings: each architecture declares the tensors it reads in its own table (archs/types.ts
// TensorDecl), using llama.cpp's names.

export function tensorName(base: string, suffix: 'weight' | 'bias', layer?: number): string {
  return layer === undefined ? `${base}.${suffix}` : `blk.${layer}.${base}.${suffix}`;
}
