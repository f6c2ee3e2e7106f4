// Reads only the metadata key/value section of a GGUF file, in the shape of src/gguf/value-types.ts
// (Map<string, GGUFValue>), so that a tokenizer can be loaded without touching tensor data.
// Also: typed accessors that tolerate both the GGUFValue shape and plain values.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { HearthError } from '../util/errors.ts';
import { GGUFValueType as T, type GGUFValue } from '../gguf/value-types.ts';

export type GGUFMetadata = Map<string, GGUFValue | unknown>;

const utf8 = new TextDecoder('utf-8');
const FIXED: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** Reads the metadata of a GGUF file (header + KV pairs only, streamed in chunks). */
export function readGGUFMetadata(path: string): Map<string, GGUFValue> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new HearthError('not_found', `cannot open ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const size = fstatSync(fd).size;
    const r = new ChunkReader(fd, size, path);
    if (r.u32() !== 0x46554747) throw new HearthError('gguf_invalid', `${path}: not a GGUF file (bad magic)`);
    const version = r.u32();
    if (version < 2 || version > 3) throw new HearthError('gguf_unsupported', `${path}: GGUF version ${version}`);
    r.u64(); // tensor count
    const nKv = r.u64();
    const out = new Map<string, GGUFValue>();
    for (let i = 0; i < nKv; i++) {
      const key = r.str();
      const type = r.u32();
      out.set(key, r.value(type, key));
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

class ChunkReader {
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private pos = 0; // position inside buf
  private base = 0; // file offset of buf[0]
  private readonly fd: number;
  private readonly size: number;
  private readonly path: string;
  constructor(fd: number, size: number, path: string) {
    this.fd = fd;
    this.size = size;
    this.path = path;
  }

  private need(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const fileOff = this.base + this.pos;
    if (fileOff + n > this.size) throw new HearthError('gguf_invalid', `${this.path}: truncated metadata`);
    const len = Math.min(this.size - fileOff, Math.max(n, 1 << 22));
    const nb = new Uint8Array(len);
    readSync(this.fd, nb, 0, len, fileOff);
    this.buf = nb;
    this.view = new DataView(nb.buffer);
    this.base = fileOff;
    this.pos = 0;
  }
  u32(): number { this.need(4); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(this.size)) throw new HearthError('gguf_invalid', `${this.path}: count ${v} exceeds file size`);
    return Number(v);
  }
  str(): string {
    const n = this.u64();
    this.need(n);
    const s = utf8.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  private scalar(type: number): number | bigint | boolean {
    const sz = FIXED[type];
    this.need(sz);
    const v = this.view, p = this.pos;
    this.pos += sz;
    switch (type) {
      case T.UINT8: return v.getUint8(p);
      case T.INT8: return v.getInt8(p);
      case T.UINT16: return v.getUint16(p, true);
      case T.INT16: return v.getInt16(p, true);
      case T.UINT32: return v.getUint32(p, true);
      case T.INT32: return v.getInt32(p, true);
      case T.FLOAT32: return v.getFloat32(p, true);
      case T.BOOL: return v.getUint8(p) !== 0;
      case T.FLOAT64: return v.getFloat64(p, true);
      case T.UINT64: { const b = v.getBigUint64(p, true); return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b; }
      case T.INT64: { const b = v.getBigInt64(p, true); return Number.isSafeInteger(Number(b)) ? Number(b) : b; }
    }
    throw new HearthError('gguf_invalid', `${this.path}: unknown value type ${type}`);
  }
  value(type: number, key: string, depth = 0): GGUFValue {
    if (type === T.STRING) return { type: T.STRING, value: this.str() };
    if (type === T.ARRAY) {
      if (depth > 8) throw new HearthError('gguf_invalid', `${this.path}: ${key}: arrays nested too deep`);
      const itemType = this.u32();
      const n = this.u64();
      let items: unknown;
      if (itemType === T.STRING) {
        const a: string[] = new Array(n);
        for (let i = 0; i < n; i++) a[i] = this.str();
        items = a;
      } else if (itemType === T.ARRAY) {
        const a: GGUFValue[] = [];
        for (let i = 0; i < n; i++) a.push(this.value(T.ARRAY, key, depth + 1));
        items = a;
      } else if (itemType === T.BOOL) {
        const a: boolean[] = new Array(n);
        for (let i = 0; i < n; i++) a[i] = this.scalar(T.BOOL) as boolean;
        items = a;
      } else {
        const sz = FIXED[itemType];
        if (sz === undefined) throw new HearthError('gguf_invalid', `${this.path}: ${key}: unknown array type ${itemType}`);
        this.need(n * sz);
        const bytes = this.buf.slice(this.pos, this.pos + n * sz);
        this.pos += n * sz;
        const Ctor = ({ 0: Uint8Array, 1: Int8Array, 2: Uint16Array, 3: Int16Array, 4: Uint32Array, 5: Int32Array,
          6: Float32Array, 10: BigUint64Array, 11: BigInt64Array, 12: Float64Array } as Record<number, any>)[itemType];
        items = new Ctor(bytes.buffer, 0, n);
      }
      return { type: T.ARRAY, itemType, value: items } as GGUFValue;
    }
    if (FIXED[type] === undefined) throw new HearthError('gguf_invalid', `${this.path}: ${key}: unknown value type ${type}`);
    return { type, value: this.scalar(type) } as GGUFValue;
  }
}

// ---- accessors -------------------------------------------------------------------------------

function raw(md: GGUFMetadata, key: string): unknown {
  const v = md.get(key);
  if (v !== null && typeof v === 'object' && 'value' in (v as object) && 'type' in (v as object)) {
    return (v as { value: unknown }).value;
  }
  return v;
}

function bad(key: string, what: string): HearthError {
  return new HearthError('tokenizer_invalid', `metadata key "${key}" must be ${what}`);
}

export function metaString(md: GGUFMetadata, key: string): string | undefined {
  const v = raw(md, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(key, 'a string');
  return v;
}

export function metaNumber(md: GGUFMetadata, key: string): number | undefined {
  const v = raw(md, key);
  if (v === undefined) return undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v !== 'number') throw bad(key, 'a number');
  return v;
}

export function metaBool(md: GGUFMetadata, key: string): boolean | undefined {
  const v = raw(md, key);
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  throw bad(key, 'a boolean');
}

export function metaStringArray(md: GGUFMetadata, key: string): string[] | undefined {
  const v = raw(md, key);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || (v.length > 0 && typeof v[0] !== 'string')) throw bad(key, 'an array of strings');
  return v as string[];
}

export function metaNumberArray(md: GGUFMetadata, key: string): ArrayLike<number> | undefined {
  const v = raw(md, key);
  if (v === undefined) return undefined;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    if (v instanceof BigInt64Array || v instanceof BigUint64Array) return Array.from(v, Number);
    return v as unknown as ArrayLike<number>;
  }
  if (Array.isArray(v) && (v.length === 0 || typeof v[0] === 'number')) return v as number[];
  throw bad(key, 'an array of numbers');
}
