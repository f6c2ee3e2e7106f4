// GGUF metadata: a Map from key to typed value, with typed getters for loaders and typed setters for
// writers. Getters throw model_invalid naming the key and the file when a key is missing or has the
// wrong type; each getter takes an optional fallback returned when the key is absent
// (pass `undefined` to get `T | undefined`).

import { HearthError } from '../util/errors.ts';
import {
  GGUFValueType as T, checkValue, valueTypeName, fitsInteger, arrayClassOf,
  type GGUFValue, type GGUFArrayValue, type GGUFValueTypeId,
} from './value-types.ts';

type NumericArray = ArrayLike<number>;

export class GGUFMetadata extends Map<string, GGUFValue> {
  /** Where the metadata came from (a file path), used in error messages. */
  source = 'metadata';

  static from(entries: Iterable<readonly [string, GGUFValue]>, source?: string): GGUFMetadata {
    const m = new GGUFMetadata();
    for (const [k, v] of entries) m.set(k, v);
    if (source !== undefined) m.source = source;
    return m;
  }

  // ---- getters ----

  getString(key: string): string;
  getString<D>(key: string, fallback: D): string | D;
  getString(key: string, ...fallback: [unknown?]): unknown {
    const v = this.lookup(key, fallback);
    if (v === undefined) return fallback[0];
    if (v.type !== T.STRING) throw this.wrongType(key, v, 'a string');
    return v.value;
  }

  /** Any numeric scalar (8..64-bit integers, f32, f64); a 64-bit integer beyond 2^53 is an error. */
  getNumber(key: string): number;
  getNumber<D>(key: string, fallback: D): number | D;
  getNumber(key: string, ...fallback: [unknown?]): unknown {
    const v = this.lookup(key, fallback);
    if (v === undefined) return fallback[0];
    if (v.type === T.BOOL || v.type === T.STRING || v.type === T.ARRAY) throw this.wrongType(key, v, 'a number');
    if (typeof v.value === 'bigint') throw this.fail(`metadata key "${key}" = ${v.value} does not fit in a JS number`);
    return v.value;
  }

  getBool(key: string): boolean;
  getBool<D>(key: string, fallback: D): boolean | D;
  getBool(key: string, ...fallback: [unknown?]): unknown {
    const v = this.lookup(key, fallback);
    if (v === undefined) return fallback[0];
    if (v.type !== T.BOOL) throw this.wrongType(key, v, 'a bool');
    return v.value;
  }

  /** The array value itself: `itemType` and `value` (a typed array, string[], boolean[] or nested arrays). */
  getArray(key: string): GGUFArrayValue;
  getArray<D>(key: string, fallback: D): GGUFArrayValue | D;
  getArray(key: string, ...fallback: [unknown?]): unknown {
    const v = this.lookup(key, fallback);
    if (v === undefined) return fallback[0];
    if (v.type !== T.ARRAY) throw this.wrongType(key, v, 'an array');
    return v;
  }

  getStrings(key: string): string[];
  getStrings<D>(key: string, fallback: D): string[] | D;
  getStrings(key: string, ...fallback: [unknown?]): unknown {
    const v = this.lookup(key, fallback);
    if (v === undefined) return fallback[0];
    if (v.type !== T.ARRAY || v.itemType !== T.STRING) throw this.wrongType(key, v, 'an array of strings');
    return v.value;
  }

  /**
   * A numeric array as numbers: the stored typed array itself for 8..32-bit and float types (no copy),
   * a converted Float64Array for 64-bit integers (each must be within 2^53).
   */
  getNumbers(key: string): NumericArray;
  getNumbers<D>(key: string, fallback: D): NumericArray | D;
  getNumbers(key: string, ...fallback: [unknown?]): unknown {
    const v = this.lookup(key, fallback);
    if (v === undefined) return fallback[0];
    if (v.type !== T.ARRAY || !arrayClassOf(v.itemType)) throw this.wrongType(key, v, 'an array of numbers');
    const items = v.value;
    if (!(items instanceof BigInt64Array || items instanceof BigUint64Array)) return items as NumericArray;
    const out = new Float64Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const n = Number(items[i]);
      if (!Number.isSafeInteger(n)) throw this.fail(`metadata key "${key}"[${i}] = ${items[i]} does not fit in a JS number`);
      out[i] = n;
    }
    return out;
  }

  private lookup(key: string, fallback: unknown[]): GGUFValue | undefined {
    const v = this.get(key);
    if (v === undefined && fallback.length === 0) throw this.fail(`metadata key "${key}" is missing`);
    return v;
  }

  private wrongType(key: string, v: GGUFValue, expected: string): HearthError {
    const got = v.type === T.ARRAY ? `an array of ${valueTypeName(v.itemType)}` : valueTypeName(v.type);
    return this.fail(`metadata key "${key}" is ${got}, expected ${expected}`);
  }

  private fail(msg: string): HearthError {
    return new HearthError('model_invalid', `${this.source}: ${msg}`);
  }

  // ---- setters: each checks the value fits its type (invalid_argument) and returns this ----

  u8(key: string, v: number): this { return this.put(key, { type: T.UINT8, value: v }); }
  i8(key: string, v: number): this { return this.put(key, { type: T.INT8, value: v }); }
  u16(key: string, v: number): this { return this.put(key, { type: T.UINT16, value: v }); }
  i16(key: string, v: number): this { return this.put(key, { type: T.INT16, value: v }); }
  u32(key: string, v: number): this { return this.put(key, { type: T.UINT32, value: v }); }
  i32(key: string, v: number): this { return this.put(key, { type: T.INT32, value: v }); }
  f32(key: string, v: number): this { return this.put(key, { type: T.FLOAT32, value: v }); }
  f64(key: string, v: number): this { return this.put(key, { type: T.FLOAT64, value: v }); }
  u64(key: string, v: number | bigint): this { return this.put(key, { type: T.UINT64, value: small(v) }); }
  i64(key: string, v: number | bigint): this { return this.put(key, { type: T.INT64, value: small(v) }); }
  bool(key: string, v: boolean): this { return this.put(key, { type: T.BOOL, value: v }); }
  string(key: string, v: string): this { return this.put(key, { type: T.STRING, value: v }); }

  u8s(key: string, v: ArrayLike<number>): this { return this.numbers(key, T.UINT8, v); }
  i8s(key: string, v: ArrayLike<number>): this { return this.numbers(key, T.INT8, v); }
  u16s(key: string, v: ArrayLike<number>): this { return this.numbers(key, T.UINT16, v); }
  i16s(key: string, v: ArrayLike<number>): this { return this.numbers(key, T.INT16, v); }
  u32s(key: string, v: ArrayLike<number>): this { return this.numbers(key, T.UINT32, v); }
  i32s(key: string, v: ArrayLike<number>): this { return this.numbers(key, T.INT32, v); }
  f32s(key: string, v: ArrayLike<number>): this { return this.numbers(key, T.FLOAT32, v); }
  f64s(key: string, v: ArrayLike<number>): this { return this.numbers(key, T.FLOAT64, v); }
  u64s(key: string, v: ArrayLike<number | bigint>): this { return this.numbers(key, T.UINT64, v); }
  i64s(key: string, v: ArrayLike<number | bigint>): this { return this.numbers(key, T.INT64, v); }
  bools(key: string, v: readonly boolean[]): this { return this.put(key, array(T.BOOL, [...v])); }
  strings(key: string, v: readonly string[]): this { return this.put(key, array(T.STRING, [...v])); }
  /** An array of arrays; build the inner ones with `ggufArray()`. */
  arrays(key: string, v: readonly GGUFArrayValue[]): this { return this.put(key, array(T.ARRAY, [...v])); }

  private numbers(key: string, type: GGUFValueTypeId, v: ArrayLike<number | bigint>): this {
    return this.put(key, ggufArray(type, v, key));
  }

  private put(key: string, v: GGUFValue): this {
    checkValue(key, v);
    return this.set(key, v);
  }
}

function small(v: number | bigint): number | bigint {
  // Same convention as the reader: a number when it is a safe integer.
  return typeof v === 'bigint' && v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v) : v;
}

function array(itemType: GGUFValueTypeId, value: GGUFArrayValue['value']): GGUFArrayValue {
  return { type: T.ARRAY, itemType, value };
}

/**
 * Builds an array value from plain JS values, converting numbers to the typed array of `itemType`
 * (each checked to fit the type). Strings, booleans and arrays are taken as they are.
 */
export function ggufArray(itemType: GGUFValueTypeId, items: ArrayLike<unknown>, key = 'array'): GGUFArrayValue {
  const cls = arrayClassOf(itemType);
  if (!cls) return checked(key, array(itemType, Array.from(items) as GGUFArrayValue['value']));
  if (items instanceof cls) return array(itemType, items);
  const bigints = itemType === T.UINT64 || itemType === T.INT64;
  const isInt = itemType !== T.FLOAT32 && itemType !== T.FLOAT64;
  for (let i = 0; i < items.length; i++) {
    const x = items[i];
    const ok = isInt ? (typeof x === 'number' || typeof x === 'bigint') && fitsInteger(itemType, x) : typeof x === 'number';
    if (!ok) throw new HearthError('invalid_argument', `metadata key "${key}"[${i}]: ${String(x)} is not a valid ${valueTypeName(itemType)}`);
  }
  const out = bigints
    ? (cls as BigInt64ArrayConstructor).from(items as ArrayLike<number | bigint>, (x) => BigInt(x))
    : (cls as Float64ArrayConstructor).from(items as ArrayLike<number>);
  return array(itemType, out);
}

function checked(key: string, v: GGUFArrayValue): GGUFArrayValue {
  checkValue(key, v);
  return v;
}
