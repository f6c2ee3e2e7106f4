// GGUF metadata value types and their in-memory representation.
// A value keeps its GGUF type so that a file read and written back stays identical:
// numeric arrays are typed arrays of the matching class, 64-bit scalars are numbers when they are
// safe integers and bigints otherwise.

import { HearthError } from '../util/errors.ts';

/** GGUF metadata value type ids (gguf.h `enum gguf_type`). */
export const GGUFValueType = {
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6,
  BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12,
} as const;

export type GGUFValueTypeName = keyof typeof GGUFValueType;
export type GGUFValueTypeId = (typeof GGUFValueType)[GGUFValueTypeName];

const T = GGUFValueType;
type NumberTypeId = typeof T.UINT8 | typeof T.INT8 | typeof T.UINT16 | typeof T.INT16 |
  typeof T.UINT32 | typeof T.INT32 | typeof T.FLOAT32 | typeof T.FLOAT64;

export type GGUFScalarValue =
  | { type: NumberTypeId; value: number }
  | { type: typeof T.UINT64 | typeof T.INT64; value: number | bigint }
  | { type: typeof T.BOOL; value: boolean }
  | { type: typeof T.STRING; value: string };

export type GGUFArrayItems =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | Float32Array | Float64Array | BigUint64Array | BigInt64Array
  | boolean[] | string[] | GGUFArrayValue[];

/** An array value. `itemType` is kept because an empty array has no items to tell it. */
export interface GGUFArrayValue {
  type: typeof T.ARRAY;
  itemType: GGUFValueTypeId;
  value: GGUFArrayItems;
}

export type GGUFValue = GGUFScalarValue | GGUFArrayValue;

type TypedArrayCtor =
  | Uint8ArrayConstructor | Int8ArrayConstructor | Uint16ArrayConstructor | Int16ArrayConstructor
  | Uint32ArrayConstructor | Int32ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor
  | BigUint64ArrayConstructor | BigInt64ArrayConstructor;

/** Per value type: encoded size in bytes (0 = variable) and the typed array class of its arrays. */
interface ValueTypeInfo { readonly name: GGUFValueTypeName; readonly size: number; readonly array?: TypedArrayCtor }

const INFO: readonly ValueTypeInfo[] = [
  { name: 'UINT8', size: 1, array: Uint8Array }, { name: 'INT8', size: 1, array: Int8Array },
  { name: 'UINT16', size: 2, array: Uint16Array }, { name: 'INT16', size: 2, array: Int16Array },
  { name: 'UINT32', size: 4, array: Uint32Array }, { name: 'INT32', size: 4, array: Int32Array },
  { name: 'FLOAT32', size: 4, array: Float32Array }, { name: 'BOOL', size: 1 },
  { name: 'STRING', size: 0 }, { name: 'ARRAY', size: 0 },
  { name: 'UINT64', size: 8, array: BigUint64Array }, { name: 'INT64', size: 8, array: BigInt64Array },
  { name: 'FLOAT64', size: 8, array: Float64Array },
];

export function isValueType(id: number): id is GGUFValueTypeId {
  return Number.isInteger(id) && id >= 0 && id < INFO.length;
}

export function valueTypeName(id: number): string {
  return isValueType(id) ? INFO[id].name : `unknown(${id})`;
}

/** Encoded bytes of one value of a fixed-size type; 0 for STRING and ARRAY. */
export function valueTypeSize(id: GGUFValueTypeId): number {
  return INFO[id].size;
}

/** The typed array class that holds arrays of this type (undefined for BOOL, STRING, ARRAY). */
export function arrayClassOf(id: GGUFValueTypeId): TypedArrayCtor | undefined {
  return INFO[id].array;
}

/** Smallest encoded size of one item: used to reject counts that cannot fit before allocating. */
export function minEncodedSize(id: GGUFValueTypeId): number {
  if (id === T.STRING) return 8; // u64 length
  if (id === T.ARRAY) return 12; // u32 item type + u64 count
  return INFO[id].size;
}

const INT_RANGE: Partial<Record<GGUFValueTypeId, readonly [number, number]>> = {
  [T.UINT8]: [0, 0xff], [T.INT8]: [-0x80, 0x7f], [T.UINT16]: [0, 0xffff], [T.INT16]: [-0x8000, 0x7fff],
  [T.UINT32]: [0, 0xffffffff], [T.INT32]: [-0x80000000, 0x7fffffff],
};
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/** True when `v` is representable in the integer type `id` (for 8..32-bit and 64-bit integer types). */
export function fitsInteger(id: GGUFValueTypeId, v: number | bigint): boolean {
  if (id === T.UINT64 || id === T.INT64) {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) return false;
    const b = BigInt(v);
    return id === T.UINT64 ? b >= 0n && b <= U64_MAX : b >= I64_MIN && b <= I64_MAX;
  }
  const r = INT_RANGE[id];
  return r !== undefined && typeof v === 'number' && Number.isInteger(v) && v >= r[0] && v <= r[1];
}

function invalid(key: string, msg: string): HearthError {
  return new HearthError('invalid_argument', `metadata key "${key}": ${msg}`);
}

/**
 * Checks that a value has the canonical representation of its type (what the reader produces and the
 * writer accepts). Throws invalid_argument naming the key.
 */
export function checkValue(key: string, v: GGUFValue, depth = 0): void {
  if (v === null || typeof v !== 'object' || !isValueType(v.type)) {
    throw invalid(key, `not a GGUF value (expected { type: GGUFValueType, value })`);
  }
  const name = INFO[v.type].name;
  switch (v.type) {
    case T.BOOL:
      if (typeof v.value !== 'boolean') throw invalid(key, `BOOL value must be a boolean`);
      return;
    case T.STRING:
      if (typeof v.value !== 'string' || !v.value.isWellFormed()) {
        throw invalid(key, `STRING value must be a well-formed string (no lone surrogates)`);
      }
      return;
    case T.FLOAT32: case T.FLOAT64:
      if (typeof v.value !== 'number') throw invalid(key, `${name} value must be a number`);
      return;
    case T.ARRAY:
      checkArray(key, v, depth);
      return;
    default:
      if (!fitsInteger(v.type, v.value as number | bigint)) {
        throw invalid(key, `${String(v.value)} is not a valid ${name}`);
      }
  }
}

function checkArray(key: string, v: GGUFArrayValue, depth: number): void {
  if (!isValueType(v.itemType)) throw invalid(key, `array item type ${String(v.itemType)} is unknown`);
  if (depth >= MAX_ARRAY_DEPTH) throw invalid(key, `arrays nested deeper than ${MAX_ARRAY_DEPTH}`);
  const cls = INFO[v.itemType].array;
  const items = v.value;
  if (cls) {
    if (!(items instanceof cls)) throw invalid(key, `array of ${INFO[v.itemType].name} must be a ${cls.name}`);
    return;
  }
  if (!Array.isArray(items)) throw invalid(key, `array of ${INFO[v.itemType].name} must be a plain array`);
  if (v.itemType === T.BOOL) {
    for (const b of items) if (typeof b !== 'boolean') throw invalid(key, `BOOL array holds a non-boolean`);
  } else if (v.itemType === T.STRING) {
    for (const s of items) {
      if (typeof s !== 'string' || !s.isWellFormed()) throw invalid(key, `STRING array holds a non-string or a lone surrogate`);
    }
  } else {
    for (const inner of items as GGUFArrayValue[]) {
      if (inner === null || typeof inner !== 'object' || inner.type !== T.ARRAY) {
        throw invalid(key, `an array of arrays must hold array values`);
      }
      checkArray(key, inner, depth + 1);
    }
  }
}

/** Arrays of arrays deeper than this are refused (a hostile file could otherwise exhaust the stack). */
export const MAX_ARRAY_DEPTH = 64;
