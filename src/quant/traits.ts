// QUANT_TRAITS: per tensor type, the reference (plain TypeScript) row codecs.
// Adding a type = adding one row here and one file under ref/.
// Every function works on whole rows: `n` is a multiple of the type's block size; `src`/`dst` start at block 0.

import { GGMLType, typeLayout, type GGMLTypeId, type TypeLayout } from '../gguf/ggml-types.ts';

export interface QuantTraits extends TypeLayout {
  /** Decode n elements from packed blocks to f32. */
  dequantize(src: Uint8Array, dst: Float32Array, n: number): void;
  /** Encode n f32 elements into packed blocks (dst holds rowBytes(type, n) bytes). */
  quantize(src: Float32Array, dst: Uint8Array, n: number): void;
  /**
   * The type llama.cpp's CPU backend converts activations to before a dot product with this type
   * (ggml `vec_dot_type`): F32 for F32, F16 for F16, BF16 for BF16, Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for K-quants.
   */
  readonly vecDotType: GGMLTypeId;
  /**
   * Byte offset of the f16 block minimum m in types whose dot product with Q8_1 activations adds m * s
   * (s = the activation block's stored, f16-rounded sum) rather than m * sum(x): Q4_1 and Q5_1.
   */
  readonly minOffset?: number;
}

// Rows are registered by the ref/ files through registerQuant (see ./index.ts, which imports them all).
const TRAITS = new Map<number, QuantTraits>();

export function registerQuant(t: Omit<QuantTraits, keyof TypeLayout> & { id: GGMLTypeId }): void {
  const layout = typeLayout(t.id);
  if (!layout) throw new Error(`registerQuant: unknown type id ${t.id}`);
  TRAITS.set(t.id, { ...layout, ...t });
}

export function quantTraits(id: number): QuantTraits | undefined {
  return TRAITS.get(id);
}

export function supportedQuantTypes(): QuantTraits[] {
  return [...TRAITS.values()];
}

export { GGMLType };
