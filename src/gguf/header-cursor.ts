// A forward-only, buffered little-endian reader for the GGUF header (metadata and tensor infos).
// Files are read in chunks of 1 MiB or more (one syscall per chunk, not per value); in-memory sources
// are read in place. Every length and count is checked against the bytes left BEFORE anything is
// allocated, so a hostile header can cause neither a giant allocation nor a long loop.

import { HearthError } from '../util/errors.ts';
import type { ByteSource } from './byte-source.ts';
import {
  GGUFValueType as T, isValueType, valueTypeName, valueTypeSize, arrayClassOf, minEncodedSize, MAX_ARRAY_DEPTH,
  type GGUFValue, type GGUFArrayValue, type GGUFValueTypeId,
} from './value-types.ts';

const CHUNK = 1 << 20;

/**
 * What a header's metadata may hold in all, counted before each array is allocated: array items (numbers, strings,
 * booleans, sub-arrays; the largest real vocabularies have 262k tokens and 500k merges, so several arrays of them
 * fit many times over), and sub-arrays (each a JavaScript object of its own, about 260 bytes even when empty; real
 * files have none).
 */
export const MAX_HEADER_ELEMENTS = 64 << 20;
export const MAX_NESTED_ARRAYS = 1 << 20;
// ignoreBOM keeps a leading U+FEFF: the Llama-2 vocabulary has it as a token of its own.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class HeaderCursor {
  /** Absolute file position of the next byte to read. */
  pos = 0;
  /** What is being read, for error messages (set by the parser). */
  what = 'header';
  private readonly src: ByteSource;
  private buf: Uint8Array;
  private dv: DataView;
  /** File position of buf[0]. */
  private base = 0;
  private owned: Uint8Array | undefined;
  /** Array items and sub-arrays read so far (see MAX_HEADER_ELEMENTS, MAX_NESTED_ARRAYS). */
  private elements = 0;
  private nestedArrays = 0;

  constructor(src: ByteSource) {
    this.src = src;
    this.buf = src.bytes ?? new Uint8Array(0);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  get remaining(): number {
    return this.src.size - this.pos;
  }

  invalid(msg: string, at = this.pos): HearthError {
    return new HearthError('gguf_invalid', `${this.src.name}: ${msg} (${this.what}, at byte ${at})`);
  }

  unsupported(msg: string, at = this.pos): HearthError {
    return new HearthError('gguf_unsupported', `${this.src.name}: ${msg} (${this.what}, at byte ${at})`);
  }

  /** Index in `buf` of the next `n` bytes, loading them when needed; throws when the file ends first. */
  private need(n: number): number {
    const off = this.pos - this.base;
    if (off + n <= this.buf.length) return off;
    if (n > this.remaining) {
      throw this.invalid(`file truncated: needs ${n} more bytes, only ${this.remaining} left`);
    }
    const len = Math.min(Math.max(n, CHUNK), this.remaining);
    if (!this.owned || this.owned.length < len) this.owned = new Uint8Array(len);
    this.buf = this.owned.subarray(0, len);
    this.dv = new DataView(this.buf.buffer, 0, len);
    this.base = this.pos;
    this.src.readInto(this.pos, this.buf);
    return 0;
  }

  u8(): number { const o = this.need(1); this.pos += 1; return this.buf[o]; }
  i8(): number { const o = this.need(1); this.pos += 1; return this.dv.getInt8(o); }
  u16(): number { const o = this.need(2); this.pos += 2; return this.dv.getUint16(o, true); }
  i16(): number { const o = this.need(2); this.pos += 2; return this.dv.getInt16(o, true); }
  u32(): number { const o = this.need(4); this.pos += 4; return this.dv.getUint32(o, true); }
  i32(): number { const o = this.need(4); this.pos += 4; return this.dv.getInt32(o, true); }
  f32(): number { const o = this.need(4); this.pos += 4; return this.dv.getFloat32(o, true); }
  f64(): number { const o = this.need(8); this.pos += 8; return this.dv.getFloat64(o, true); }

  /** A u64: a number when below 2^53, else a bigint. */
  u64(): number | bigint {
    const o = this.need(8);
    this.pos += 8;
    const lo = this.dv.getUint32(o, true);
    const hi = this.dv.getUint32(o + 4, true);
    return hi < 0x200000 ? hi * 0x100000000 + lo : this.dv.getBigUint64(o, true);
  }

  /** An i64: a number when within ±(2^53 - 1), else a bigint. */
  i64(): number | bigint {
    const o = this.need(8);
    this.pos += 8;
    const n = this.dv.getInt32(o + 4, true) * 0x100000000 + this.dv.getUint32(o, true);
    return Number.isSafeInteger(n) ? n : this.dv.getBigInt64(o, true);
  }

  /** A u64 count of items of at least `itemBytes` bytes each, checked to fit in the bytes left. */
  count(label: string, itemBytes: number, reserved = 0): number {
    const at = this.pos;
    const n = this.u64();
    const room = this.remaining - reserved;
    if (typeof n === 'bigint' || n * itemBytes > room) {
      throw this.invalid(`${label} ${n} cannot fit in the ${room} bytes left`, at);
    }
    return n;
  }

  string(): string {
    const at = this.pos;
    const len = this.u64();
    if (typeof len === 'bigint' || len > this.remaining) {
      throw this.invalid(`string length ${len} runs past the end of the file (${this.remaining} bytes left)`, at);
    }
    const o = this.need(len);
    this.pos += len;
    return decodeUtf8(this.buf, o, o + len) ?? this.badUtf8(at);
  }

  private badUtf8(at: number): never {
    throw this.invalid('string is not valid UTF-8', at);
  }

  /** The value type id that precedes a value, checked to be known. */
  valueType(): GGUFValueTypeId {
    const at = this.pos;
    const t = this.u32();
    if (!isValueType(t)) throw this.invalid(`unknown value type ${t}`, at);
    return t;
  }

  value(type: GGUFValueTypeId): GGUFValue {
    switch (type) {
      case T.UINT8: return { type, value: this.u8() };
      case T.INT8: return { type, value: this.i8() };
      case T.UINT16: return { type, value: this.u16() };
      case T.INT16: return { type, value: this.i16() };
      case T.UINT32: return { type, value: this.u32() };
      case T.INT32: return { type, value: this.i32() };
      case T.FLOAT32: return { type, value: this.f32() };
      case T.FLOAT64: return { type, value: this.f64() };
      case T.UINT64: return { type, value: this.u64() };
      case T.INT64: return { type, value: this.i64() };
      case T.BOOL: return { type, value: this.u8() !== 0 };
      case T.STRING: return { type, value: this.string() };
      case T.ARRAY: return this.array(0);
    }
  }

  private array(depth: number): GGUFArrayValue {
    if (depth >= MAX_ARRAY_DEPTH) throw this.unsupported(`arrays nested deeper than ${MAX_ARRAY_DEPTH}`);
    const itemType = this.valueType();
    const n = this.count(`array of ${valueTypeName(itemType)}: length`, minEncodedSize(itemType));
    this.elements += n;
    if (this.elements > MAX_HEADER_ELEMENTS) {
      throw this.invalid(`metadata arrays hold more than ${MAX_HEADER_ELEMENTS} items in all (the limit of a header)`);
    }
    if (itemType === T.ARRAY) {
      this.nestedArrays += n;
      if (this.nestedArrays > MAX_NESTED_ARRAYS) {
        throw this.invalid(`metadata holds more than ${MAX_NESTED_ARRAYS} nested arrays in all (the limit of a header)`);
      }
    }
    const cls = arrayClassOf(itemType);
    if (cls) {
      const bytes = n * valueTypeSize(itemType);
      const o = this.need(bytes);
      this.pos += bytes;
      // Copy into a fresh, aligned buffer (not slice(): on a Node Buffer that is a view of the whole file).
      const copy = new Uint8Array(bytes);
      copy.set(this.buf.subarray(o, o + bytes));
      return { type: T.ARRAY, itemType, value: new cls(copy.buffer) };
    }
    if (itemType === T.STRING) {
      const items = new Array<string>(n);
      for (let i = 0; i < n; i++) items[i] = this.string();
      return { type: T.ARRAY, itemType, value: items };
    }
    if (itemType === T.BOOL) {
      const o = this.need(n);
      this.pos += n;
      const items = new Array<boolean>(n);
      for (let i = 0; i < n; i++) items[i] = this.buf[o + i] !== 0;
      return { type: T.ARRAY, itemType, value: items };
    }
    const items = new Array<GGUFArrayValue>(n);
    for (let i = 0; i < n; i++) items[i] = this.array(depth + 1);
    return { type: T.ARRAY, itemType, value: items };
  }
}

/**
 * Strict UTF-8 decoding of buf[start, end); undefined when the bytes are not valid UTF-8.
 * Short ASCII strings (most vocabulary entries) skip TextDecoder's per-call cost.
 */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string | undefined {
  if (end - start <= 32) {
    let ascii = true;
    for (let i = start; i < end; i++) if (buf[i] >= 0x80) { ascii = false; break; }
    if (ascii) return String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
  }
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    return undefined;
  }
}
