// GGML tensor type ids and their block layout: the one table of block sizes and bytes per type.
// Ids are fixed by the GGUF format (ggml.h `enum ggml_type`); removed ids (4, 5, 31-33, 36-38) are absent.

export const GGMLType = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q8_1: 9,
  Q2_K: 10, Q3_K: 11, Q4_K: 12, Q5_K: 13, Q6_K: 14, Q8_K: 15,
  IQ2_XXS: 16, IQ2_XS: 17, IQ3_XXS: 18, IQ1_S: 19, IQ4_NL: 20, IQ3_S: 21, IQ2_S: 22, IQ4_XS: 23,
  I8: 24, I16: 25, I32: 26, I64: 27, F64: 28, IQ1_M: 29, BF16: 30, TQ1_0: 34, TQ2_0: 35, MXFP4: 39,
} as const;

export type GGMLTypeName = keyof typeof GGMLType;
export type GGMLTypeId = (typeof GGMLType)[GGMLTypeName];

export interface TypeLayout {
  readonly id: GGMLTypeId;
  readonly name: GGMLTypeName;
  /** Elements per block (1 for plain scalar types). */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
}

function row(name: GGMLTypeName, blockSize: number, typeSize: number): TypeLayout {
  return { id: GGMLType[name], name, blockSize, typeSize };
}

export const TYPE_LAYOUTS: readonly TypeLayout[] = [
  row('F32', 1, 4), row('F16', 1, 2), row('BF16', 1, 2), row('F64', 1, 8),
  row('I8', 1, 1), row('I16', 1, 2), row('I32', 1, 4), row('I64', 1, 8),
  row('Q4_0', 32, 18), row('Q4_1', 32, 20), row('Q5_0', 32, 22), row('Q5_1', 32, 24),
  row('Q8_0', 32, 34), row('Q8_1', 32, 36),
  row('Q2_K', 256, 84), row('Q3_K', 256, 110), row('Q4_K', 256, 144), row('Q5_K', 256, 176),
  row('Q6_K', 256, 210), row('Q8_K', 256, 292),
  row('IQ2_XXS', 256, 66), row('IQ2_XS', 256, 74), row('IQ3_XXS', 256, 98), row('IQ1_S', 256, 50),
  row('IQ4_NL', 32, 18), row('IQ3_S', 256, 110), row('IQ2_S', 256, 82), row('IQ4_XS', 256, 136),
  row('IQ1_M', 256, 56), row('TQ1_0', 256, 54), row('TQ2_0', 256, 66), row('MXFP4', 32, 17),
];

const BY_ID = new Map<number, TypeLayout>(TYPE_LAYOUTS.map((t) => [t.id, t]));
const BY_NAME = new Map<string, TypeLayout>(TYPE_LAYOUTS.map((t) => [t.name, t]));

/** Layout of a type id, or undefined when the id is unknown. */
export function typeLayout(id: number): TypeLayout | undefined {
  return BY_ID.get(id);
}

/** Layout by name, case-insensitive ("q4_k" finds Q4_K). */
export function typeLayoutByName(name: string): TypeLayout | undefined {
  return BY_NAME.get(name.toUpperCase());
}

export function typeName(id: number): string {
  return BY_ID.get(id)?.name ?? `unknown(${id})`;
}

/** Bytes of one row of `n` elements; n must be a multiple of the block size. */
export function rowBytes(id: number, n: number): number {
  const t = BY_ID.get(id);
  if (!t) throw new RangeError(`unknown ggml type id ${id}`);
  if (n % t.blockSize !== 0) throw new RangeError(`${t.name}: row of ${n} is not a multiple of ${t.blockSize}`);
  return (n / t.blockSize) * t.typeSize;
}
