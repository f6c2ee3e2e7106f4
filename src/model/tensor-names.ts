// Tensor names, written once. tensorName('attn_norm', 'weight', 3) -> 'blk.3.attn_norm.weight'.

export type TensorBase =
  | 'token_embd' | 'output_norm' | 'output' | 'rope_freqs'
  | 'attn_norm' | 'attn_q' | 'attn_k' | 'attn_v' | 'attn_output'
  | 'ffn_norm' | 'ffn_gate' | 'ffn_up' | 'ffn_down';

export function tensorName(base: TensorBase, suffix: 'weight' | 'bias', layer?: number): string {
  return layer === undefined ? `${base}.${suffix}` : `blk.${layer}.${base}.${suffix}`;
}
