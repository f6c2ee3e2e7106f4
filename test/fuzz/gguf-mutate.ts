// Structure-aware GGUF mutations: a seed file is decoded into its fields (header counts, keys, value types, string
// lengths, array counts, tensor names, dimensions, types and offsets), one to three fields are changed or forged, and
// the file is encoded again byte by byte (independently of the writer, so that it can write what the writer refuses).
import { parseGGUF } from '../../src/gguf/index.ts';
import { GGUFValueType as T, type GGUFValue } from '../../src/gguf/value-types.ts';
import { SeededRandom } from '../fixtures/seeded-random.ts';

interface Str { bytes: Uint8Array; len?: bigint }
type Val =
  | { kind: 'scalar'; type: number; bytes: Uint8Array }
  | { kind: 'string'; s: Str }
  | { kind: 'array'; itemType: number; count?: bigint; items: Val[] };
interface Kv { key: Str; type: number; value: Val }
interface Tensor { name: Str; dims: bigint[]; nDims?: number; type: number; offset: bigint }
export interface RawGGUF {
  version: number;
  tensorCount?: bigint;
  kvCount?: bigint;
  kvs: Kv[];
  tensors: Tensor[];
  alignment: number;
  data: Uint8Array;
  /** Applied after encoding: keep this many bytes. */
  truncate?: number;
  /** Applied after encoding: [position in the header, xor mask]. */
  flips: [number, number][];
}

const SCALAR_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const enc = new TextEncoder();
const str = (s: string): Str => ({ bytes: enc.encode(s) });

function scalarBytes(type: number, v: number | bigint | boolean): Uint8Array {
  const b = new Uint8Array(SCALAR_SIZE[type] ?? 4);
  const dv = new DataView(b.buffer);
  const n = typeof v === 'boolean' ? Number(v) : v;
  switch (type) {
    case T.UINT8: case T.BOOL: dv.setUint8(0, Number(n) & 0xff); break;
    case T.INT8: dv.setInt8(0, Number(BigInt.asIntN(8, BigInt(Math.trunc(Number(n)))))); break;
    case T.UINT16: dv.setUint16(0, Number(BigInt.asUintN(16, BigInt(Math.trunc(Number(n))))), true); break;
    case T.INT16: dv.setInt16(0, Number(BigInt.asIntN(16, BigInt(Math.trunc(Number(n))))), true); break;
    case T.UINT32: dv.setUint32(0, Number(BigInt.asUintN(32, BigInt(Math.trunc(Number(n))))), true); break;
    case T.INT32: dv.setInt32(0, Number(BigInt.asIntN(32, BigInt(Math.trunc(Number(n))))), true); break;
    case T.FLOAT32: dv.setFloat32(0, Number(n), true); break;
    case T.FLOAT64: dv.setFloat64(0, Number(n), true); break;
    case T.UINT64: dv.setBigUint64(0, BigInt.asUintN(64, typeof n === 'bigint' ? n : BigInt(Math.trunc(Number(n)))), true); break;
    case T.INT64: dv.setBigInt64(0, BigInt.asIntN(64, typeof n === 'bigint' ? n : BigInt(Math.trunc(Number(n)))), true); break;
  }
  return b;
}

function toVal(v: GGUFValue): Val {
  if (v.type === T.STRING) return { kind: 'string', s: str(v.value as string) };
  if (v.type === T.ARRAY) {
    const a = v as { itemType: number; value: ArrayLike<unknown> };
    const items: Val[] = [];
    for (let i = 0; i < a.value.length; i++) {
      const x = a.value[i];
      items.push(a.itemType === T.ARRAY ? toVal(x as GGUFValue) : a.itemType === T.STRING ? { kind: 'string', s: str(x as string) }
        : { kind: 'scalar', type: a.itemType, bytes: scalarBytes(a.itemType, x as number) });
    }
    return { kind: 'array', itemType: a.itemType, items };
  }
  return { kind: 'scalar', type: v.type, bytes: scalarBytes(v.type, v.value as number) };
}

/** A seed file decoded into its fields. */
export function decodeSeed(bytes: Uint8Array): RawGGUF {
  const f = parseGGUF(bytes, 'seed');
  const kvs: Kv[] = [...f.metadata].map(([k, v]) => ({ key: str(k), type: v.type, value: toVal(v) }));
  return {
    version: f.version, kvs, alignment: f.alignment, data: bytes.subarray(f.dataOffset), flips: [],
    tensors: f.tensors.map((t) => ({ name: str(t.name), dims: t.shape.map(BigInt), type: t.type, offset: BigInt(t.offset - f.dataOffset) })),
  };
}

class Out {
  private buf = new Uint8Array(1 << 16);
  len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  bytes(b: Uint8Array): void { this.room(b.length); this.buf.set(b, this.len); this.len += b.length; }
  u32(v: number): void { this.bytes(scalarBytes(T.UINT32, v)); }
  u64(v: bigint): void { this.bytes(scalarBytes(T.UINT64, v)); }
  str(s: Str): void { this.u64(s.len ?? BigInt(s.bytes.length)); this.bytes(s.bytes); }
  val(v: Val): void {
    if (v.kind === 'scalar') this.bytes(v.bytes);
    else if (v.kind === 'string') this.str(v.s);
    else {
      this.u32(v.itemType);
      this.u64(v.count ?? BigInt(v.items.length));
      for (const x of v.items) this.val(x);
    }
  }
  result(): Uint8Array { return this.buf.subarray(0, this.len); }
}

export function encode(g: RawGGUF): Uint8Array {
  const o = new Out();
  o.bytes(enc.encode('GGUF'));
  o.u32(g.version);
  o.u64(g.tensorCount ?? BigInt(g.tensors.length));
  o.u64(g.kvCount ?? BigInt(g.kvs.length));
  for (const kv of g.kvs) { o.str(kv.key); o.u32(kv.type); o.val(kv.value); }
  for (const t of g.tensors) {
    o.str(t.name);
    o.u32(t.nDims ?? t.dims.length);
    for (const d of t.dims) o.u64(d);
    o.u32(t.type);
    o.u64(t.offset);
  }
  const header = o.len;
  if (g.tensors.length) while (o.len % g.alignment) o.bytes(new Uint8Array(1));
  o.bytes(g.data);
  let out = o.result();
  for (const [pos, mask] of g.flips) if (pos < header) out[pos] ^= mask;
  if (g.truncate !== undefined) out = out.subarray(0, Math.min(out.length, g.truncate));
  return out;
}

const INTERESTING = [0n, 1n, 2n, 3n, 4n, 7n, 8n, 16n, 31n, 32n, 63n, 64n, 255n, 256n, 4095n, 65535n, 65536n,
  (1n << 31n) - 1n, 1n << 31n, (1n << 32n) - 1n, 1n << 32n, 1n << 53n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n];

function interesting(r: SeededRandom, near?: bigint): bigint {
  const k = r.int(4);
  if (near !== undefined && k === 0) return BigInt.asUintN(64, near + BigInt(r.int(5) - 2));
  if (k === 1) return BigInt(r.uint32());
  return INTERESTING[r.int(INTERESTING.length)];
}

function pick<X>(r: SeededRandom, xs: readonly X[]): X | undefined {
  return xs.length ? xs[r.int(xs.length)] : undefined;
}

/** Every string of the file (keys, tensor names, string values), every array, every numeric scalar. */
function fields(g: RawGGUF): { strs: Str[]; arrays: (Val & { kind: 'array' })[]; scalars: { kv?: Kv; v: Val & { kind: 'scalar' } }[] } {
  const strs: Str[] = [];
  const arrays: (Val & { kind: 'array' })[] = [];
  const scalars: { kv?: Kv; v: Val & { kind: 'scalar' } }[] = [];
  const walk = (v: Val, kv?: Kv, depth = 0): void => {
    if (v.kind === 'string') strs.push(v.s);
    else if (v.kind === 'scalar') scalars.push({ kv, v });
    else {
      arrays.push(v);
      // long arrays (vocabularies): a sample of their items
      const step = Math.max(1, Math.floor(v.items.length / 16));
      if (depth < 4) for (let i = 0; i < v.items.length; i += step) walk(v.items[i], undefined, depth + 1);
    }
  };
  for (const kv of g.kvs) { strs.push(kv.key); walk(kv.value, kv); }
  for (const t of g.tensors) strs.push(t.name);
  return { strs, arrays, scalars };
}

function nested(r: SeededRandom): Val {
  const depth = 1 + r.int(r.int(4) === 0 ? 80 : 6);
  const width = r.int(3) === 0 ? r.int(2000) : r.int(4);
  let v: Val = { kind: 'array', itemType: T.UINT8, items: [] };
  // the innermost level `width` wide, the outer ones one item each (a shared subtree would grow exponentially)
  for (let d = 0; d < depth; d++) v = { kind: 'array', itemType: T.ARRAY, items: d === 0 ? Array.from({ length: width }, () => v) : [v] };
  return v;
}

const SCALAR_TYPES = [0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12];

function mutateScalar(r: SeededRandom, v: Val & { kind: 'scalar' }): void {
  const float = v.type === T.FLOAT32 || v.type === T.FLOAT64;
  if (float) {
    const specials = [0, -0, -1, 1e-30, 1e30, NaN, Infinity, -Infinity, 3.4e38, r.uniform() * 2e4 - 1e4];
    v.bytes = scalarBytes(v.type, specials[r.int(specials.length)]);
  } else {
    const x = interesting(r);
    v.bytes = scalarBytes(v.type, r.int(3) === 0 ? -x : x);
  }
}

const MUTATORS: ((g: RawGGUF, r: SeededRandom) => void)[] = [
  // header integers
  (g, r) => { g.version = Number(pick(r, [0n, 1n, 2n, 3n, 4n, BigInt(r.uint32()), 0x03000000n])!); },
  (g, r) => { g.tensorCount = interesting(r, BigInt(g.tensors.length)); },
  (g, r) => { g.kvCount = interesting(r, BigInt(g.kvs.length)); },
  // string lengths
  (g, r) => { const s = pick(r, fields(g).strs); if (s) s.len = interesting(r, BigInt(s.bytes.length)); },
  // string bytes: invalid UTF-8, empty, long
  (g, r) => {
    const s = pick(r, fields(g).strs);
    if (!s) return;
    const k = r.int(3);
    s.bytes = k === 0 ? new Uint8Array([0xff, 0xc0, 0x80]) : k === 1 ? new Uint8Array(0) : enc.encode('x'.repeat(r.int(300)));
  },
  // array counts
  (g, r) => { const a = pick(r, fields(g).arrays); if (a) a.count = interesting(r, BigInt(a.items.length)); },
  // array item type
  (g, r) => { const a = pick(r, fields(g).arrays); if (a) a.itemType = r.int(16); },
  // nesting: arrays of arrays, deep or wide
  (g, r) => { const kv = pick(r, g.kvs); if (kv) { kv.type = T.ARRAY; kv.value = nested(r); } },
  // value type ids
  (g, r) => { const kv = pick(r, g.kvs); if (kv) kv.type = r.int(3) === 0 ? r.uint32() : r.int(14); },
  // hyper-parameters and other numbers
  (g, r) => { for (let n = 1 + r.int(3); n > 0; n--) { const s = pick(r, fields(g).scalars); if (s) mutateScalar(r, s.v); } },
  // a scalar re-typed (its bytes re-encoded)
  (g, r) => {
    const s = pick(r, fields(g).scalars.filter((x) => x.kv));
    if (!s || !s.kv) return;
    const type = pick(r, SCALAR_TYPES)!;
    s.kv.type = type;
    s.kv.value = { kind: 'scalar', type, bytes: scalarBytes(type, r.int(2) ? -2 : r.uint32()) };
  },
  // tensor dimensions
  (g, r) => {
    const t = pick(r, g.tensors);
    if (!t) return;
    const k = r.int(4);
    if (k === 0) t.dims[r.int(t.dims.length)] = interesting(r, t.dims[0]);
    else if (k === 1) t.dims.reverse();
    else if (k === 2) t.dims.push(BigInt(1 + r.int(3)));
    else t.nDims = Number(interesting(r, BigInt(t.dims.length)) & 0xffffffffn);
  },
  // tensor offsets
  (g, r) => {
    const t = pick(r, g.tensors);
    if (!t) return;
    const other = pick(r, g.tensors)!;
    const k = r.int(3);
    t.offset = k === 0 ? other.offset : k === 1 ? t.offset + BigInt(1 + r.int(40)) : interesting(r, BigInt(g.data.length));
  },
  // tensor type ids
  (g, r) => { const t = pick(r, g.tensors); if (t) t.type = r.int(3) === 0 ? r.uint32() : r.int(42); },
  // duplicate keys and tensor names
  (g, r) => { const kv = pick(r, g.kvs); if (kv) g.kvs.splice(r.int(g.kvs.length + 1), 0, { ...kv, value: pick(r, g.kvs)!.value }); },
  (g, r) => { const t = pick(r, g.tensors); if (t) g.tensors.push({ ...t, dims: [...t.dims] }); },
  // drop a key or a tensor
  (g, r) => { if (g.kvs.length) g.kvs.splice(r.int(g.kvs.length), 1); },
  (g, r) => { if (g.tensors.length) g.tensors.splice(r.int(g.tensors.length), 1); },
  // swap two values
  (g, r) => { const a = pick(r, g.kvs); const b = pick(r, g.kvs); if (a && b) [a.value, a.type, b.value, b.type] = [b.value, b.type, a.value, a.type]; },
  // truncation and byte flips (after encoding)
  (g, r) => { g.truncate = r.int(encode(g).length); },
  (g, r) => { for (let n = 1 + r.int(8); n > 0; n--) g.flips.push([r.int(4096), 1 << r.int(8)]); },
];

/** One mutant of `seed` (decoded once by the caller and not changed here), from `r`. */
export function mutate(seed: Uint8Array, r: SeededRandom): Uint8Array {
  const g = decodeSeed(seed);
  for (let n = 1 + r.int(3); n > 0; n--) MUTATORS[r.int(MUTATORS.length)](g, r);
  return encode(g);
}
