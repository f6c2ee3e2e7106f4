// Malformed GGUF files, built byte by byte here (independently of the writer): each must fail with a
// HearthError whose code and message say what is wrong, where, and in which file — never a RangeError,
// a giant allocation or a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sharedPath } from '../../test/shared.ts';
import { HearthError, type ErrorCode } from '../util/errors.ts';
import { parseGGUF, GGMLType } from './index.ts';

type Put = (r: Raw) => void;

class Raw {
  out: number[] = [];
  u8(...v: number[]): this { this.out.push(...v); return this; }
  u32(v: number): this { return this.u8(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff); }
  u64(v: number | bigint): this {
    let b = BigInt.asUintN(64, BigInt(v));
    for (let i = 0; i < 8; i++, b >>= 8n) this.out.push(Number(b & 0xffn));
    return this;
  }
  /** A GGUF string: the UTF-8 of `s` (or raw bytes), with its length or a forged one. */
  str(s: string | number[], len?: number | bigint): this {
    const bytes = typeof s === 'string' ? [...new TextEncoder().encode(s)] : s;
    return this.u64(len ?? bytes.length).u8(...bytes);
  }
}

const kv = (key: string | number[], type: number, value: Put): Put => (r) => { r.str(key).u32(type); value(r); };
const kvU32 = (key: string, v: number) => kv(key, 4, (r) => r.u32(v));
const kvStr = (key: string, s: string | number[]) => kv(key, 8, (r) => r.str(s));
const tensor = (name: string | number[], dims: (number | bigint)[], type: number, offset: number | bigint, nDims = dims.length): Put =>
  (r) => { r.str(name).u32(nDims); for (const d of dims) r.u64(d); r.u32(type).u64(offset); };

interface Spec {
  magic?: number[];
  version?: number;
  tensorCount?: number | bigint;
  kvCount?: number | bigint;
  kvs?: Put[];
  tensors?: Put[];
  alignment?: number;
  /** Bytes of data after the padded header; default: what one [32] F32 tensor needs. */
  data?: number;
}

/** A small valid file by default: one string KV and one F32 tensor of 32 elements. */
function gguf(s: Spec = {}): Uint8Array {
  const kvs = s.kvs ?? [kvStr('general.architecture', 'llama')];
  const tensors = s.tensors ?? [tensor('a', [32], GGMLType.F32, 0)];
  const r = new Raw().u8(...(s.magic ?? [0x47, 0x47, 0x55, 0x46])).u32(s.version ?? 3);
  r.u64(s.tensorCount ?? tensors.length).u64(s.kvCount ?? kvs.length);
  for (const p of kvs) p(r);
  for (const p of tensors) p(r);
  if (tensors.length > 0) while (r.out.length % (s.alignment ?? 32)) r.u8(0);
  for (let i = 0; i < (s.data ?? (tensors.length > 0 ? 128 : 0)); i++) r.u8(i & 0xff);
  return new Uint8Array(r.out);
}

const F32 = GGMLType.F32;
const nested = (depth: number): Put => (r) => { for (let i = 0; i < depth; i++) r.u32(9).u64(1); r.u32(4).u64(0); };
const valid = gguf();

const ROWS: { name: string; bytes: Uint8Array; code: ErrorCode; message: string }[] = [
  { name: 'empty file', bytes: new Uint8Array(0), code: 'gguf_invalid', message: 'truncated' },
  { name: 'bad magic', bytes: gguf({ magic: [0x47, 0x47, 0x4a, 0x54] }), code: 'gguf_invalid', message: 'bad magic 0x544a4747' },
  { name: 'version 1', bytes: gguf({ version: 1 }), code: 'gguf_unsupported', message: 'GGUF version 1 is not supported' },
  { name: 'version 4', bytes: gguf({ version: 4 }), code: 'gguf_unsupported', message: 'GGUF version 4' },
  { name: 'version 99', bytes: gguf({ version: 99 }), code: 'gguf_unsupported', message: 'GGUF version 99' },
  { name: 'big-endian v3', bytes: gguf({ version: 0x03000000 }), code: 'gguf_unsupported', message: 'big-endian' },
  { name: 'huge tensor_count', bytes: gguf({ tensorCount: 2 ** 40 }), code: 'gguf_invalid', message: 'tensor_count 1099511627776 cannot fit' },
  { name: 'huge kv_count', bytes: gguf({ kvCount: 2 ** 40 }), code: 'gguf_invalid', message: 'kv_count 1099511627776 cannot fit' },
  { name: 'kv_count u64 max', bytes: gguf({ kvCount: -1n }), code: 'gguf_invalid', message: 'kv_count 18446744073709551615 cannot fit' },
  { name: 'kv_count one too many', bytes: gguf({ kvCount: 2, tensors: [] }), code: 'gguf_invalid', message: 'truncated' },
  { name: 'huge key length', bytes: gguf({ kvs: [(r) => r.str('k', 2 ** 50)] }), code: 'gguf_invalid', message: 'string length 1125899906842624 runs past the end' },
  { name: 'key length u64 max', bytes: gguf({ kvs: [(r) => r.str('k', -1n)] }), code: 'gguf_invalid', message: 'string length 18446744073709551615' },
  { name: 'string value length past end', bytes: gguf({ kvs: [kv('k', 8, (r) => r.str('v', 1000))] }), code: 'gguf_invalid', message: 'string length 1000 runs past the end' },
  { name: 'huge u32 array', bytes: gguf({ kvs: [kv('k', 9, (r) => r.u32(4).u64(2 ** 40))] }), code: 'gguf_invalid', message: 'array of UINT32: length 1099511627776 cannot fit' },
  { name: 'huge string array', bytes: gguf({ kvs: [kv('k', 9, (r) => r.u32(8).u64(2 ** 33))] }), code: 'gguf_invalid', message: 'array of STRING: length 8589934592 cannot fit' },
  { name: 'huge array of arrays', bytes: gguf({ kvs: [kv('k', 9, (r) => r.u32(9).u64(2 ** 30))] }), code: 'gguf_invalid', message: 'array of ARRAY: length' },
  { name: 'string array element past end', bytes: gguf({ kvs: [kv('k', 9, (r) => r.u32(8).u64(2).str('a').str('b', 500))] }), code: 'gguf_invalid', message: 'string length 500' },
  { name: 'unknown value type', bytes: gguf({ kvs: [kv('k', 13, (r) => r.u32(0))] }), code: 'gguf_invalid', message: 'unknown value type 13' },
  { name: 'unknown array item type', bytes: gguf({ kvs: [kv('k', 9, (r) => r.u32(99).u64(0))] }), code: 'gguf_invalid', message: 'unknown value type 99' },
  { name: 'arrays nested 100 deep', bytes: gguf({ kvs: [kv('k', 9, nested(100))] }), code: 'gguf_unsupported', message: 'nested deeper than 64' },
  { name: 'duplicate key', bytes: gguf({ kvs: [kvU32('k', 1), kvU32('k', 2)] }), code: 'gguf_invalid', message: 'duplicate metadata key' },
  { name: 'invalid UTF-8 key', bytes: gguf({ kvs: [kvU32('', 1), kv([0x6b, 0xff], 4, (r) => r.u32(1))] }), code: 'gguf_invalid', message: 'not valid UTF-8' },
  { name: 'overlong UTF-8 value', bytes: gguf({ kvs: [kvStr('k', [0xc0, 0x80])] }), code: 'gguf_invalid', message: 'not valid UTF-8' },
  { name: 'UTF-8 surrogate in value', bytes: gguf({ kvs: [kvStr('k', [0x61, 0xed, 0xa0, 0x80])] }), code: 'gguf_invalid', message: 'not valid UTF-8' },
  { name: 'cut UTF-8 sequence in string array', bytes: gguf({ kvs: [kv('k', 9, (r) => r.u32(8).u64(1).str([0xe6, 0x97]))] }), code: 'gguf_invalid', message: 'not valid UTF-8' },
  { name: 'invalid UTF-8 tensor name', bytes: gguf({ tensors: [tensor([0x80], [32], F32, 0)] }), code: 'gguf_invalid', message: 'not valid UTF-8' },
  { name: 'alignment 0', bytes: gguf({ kvs: [kvU32('general.alignment', 0)] }), code: 'gguf_invalid', message: 'general.alignment 0 is not a nonzero power of two' },
  { name: 'alignment 3', bytes: gguf({ kvs: [kvU32('general.alignment', 3)] }), code: 'gguf_invalid', message: 'general.alignment 3 is not' },
  { name: 'alignment as string', bytes: gguf({ kvs: [kvStr('general.alignment', '32')] }), code: 'gguf_invalid', message: 'general.alignment is STRING' },
  { name: 'unknown tensor type 99', bytes: gguf({ tensors: [tensor('a', [32], 99, 0)] }), code: 'gguf_unsupported', message: 'unknown tensor type id 99' },
  { name: 'removed tensor type 4 (Q4_2)', bytes: gguf({ tensors: [tensor('a', [32], 4, 0)] }), code: 'gguf_unsupported', message: 'unknown tensor type id 4' },
  { name: 'n_dims 5', bytes: gguf({ tensors: [tensor('a', [32, 1, 1, 1, 1], F32, 0)] }), code: 'gguf_invalid', message: 'n_dims 5 is not in 1..4' },
  { name: 'n_dims 0', bytes: gguf({ tensors: [tensor('a', [], F32, 0)] }), code: 'gguf_invalid', message: 'n_dims 0' },
  { name: 'n_dims 2^31', bytes: gguf({ tensors: [tensor('a', [32], F32, 0, 2 ** 31)] }), code: 'gguf_invalid', message: 'n_dims 2147483648' },
  { name: 'zero dimension', bytes: gguf({ tensors: [tensor('a', [32, 0], F32, 0)] }), code: 'gguf_invalid', message: 'dimension 1 is 0' },
  { name: 'product over 2^53', bytes: gguf({ tensors: [tensor('a', [2 ** 27, 2 ** 27], F32, 0)] }), code: 'gguf_invalid', message: 'element count overflows' },
  { name: 'dimension 2^63 (negative as int64)', bytes: gguf({ tensors: [tensor('a', [32, 1n << 63n], F32, 0)] }), code: 'gguf_invalid', message: 'element count overflows' },
  { name: 'product fits, data past file', bytes: gguf({ tensors: [tensor('a', [2 ** 26, 2 ** 26], GGMLType.I8, 0)] }), code: 'gguf_invalid', message: 'runs past the end of the file' },
  { name: 'row not a multiple of block', bytes: gguf({ tensors: [tensor('a', [33, 2], GGMLType.Q8_0, 0)] }), code: 'gguf_invalid', message: 'row length 33 is not a multiple of the Q8_0 block size 32' },
  { name: 'misaligned offset', bytes: gguf({ tensors: [tensor('a', [8], F32, 4)], data: 64 }), code: 'gguf_invalid', message: 'data offset 4 is not a multiple of the alignment 32' },
  { name: 'offset 2^60', bytes: gguf({ tensors: [tensor('a', [8], F32, 2 ** 60)] }), code: 'gguf_invalid', message: 'past the end of the file' },
  { name: 'overlapping tensors', bytes: gguf({ tensors: [tensor('a', [32], F32, 0), tensor('b', [32], F32, 64)], data: 192 }), code: 'gguf_invalid', message: 'overlaps tensor "a"' },
  { name: 'data past EOF', bytes: gguf({ data: 127 }), code: 'gguf_invalid', message: 'data [' },
  { name: 'duplicate tensor name', bytes: gguf({ tensors: [tensor('a', [32], F32, 0), tensor('a', [32], F32, 128)], data: 256 }), code: 'gguf_invalid', message: 'duplicate tensor name' },
  { name: 'truncated in tensor info', bytes: valid.subarray(0, 24 + 8 + 20 + 4 + 8 + 5 + 10), code: 'gguf_invalid', message: 'truncated' },
];

function failure(bytes: Uint8Array, name: string): unknown {
  try {
    parseGGUF(bytes, name);
  } catch (e) {
    return e;
  }
  return undefined;
}

test('each malformed file in the table fails with its code, message, file name and byte offset', () => {
  assert.doesNotThrow(() => parseGGUF(valid));
  for (const row of ROWS) {
    const file = `${row.name.replace(/\W+/g, '-')}.gguf`;
    const e = failure(row.bytes, file);
    assert.ok(e instanceof HearthError, `${row.name}: expected a HearthError, got ${String(e)}`);
    assert.equal(e.code, row.code, `${row.name}: ${e.message}`);
    assert.ok(e.message.includes(row.message), `${row.name}: "${e.message}" lacks "${row.message}"`);
    assert.ok(e.message.startsWith(`${file}: `), `${row.name}: no file name in "${e.message}"`);
    assert.match(e.message, /at byte \d+\)$/, row.name);
  }
});

test('edge cases that are valid: v2, no tensors without padding, larger alignment, genuine U+FFFD', () => {
  assert.equal(parseGGUF(gguf({ version: 2 })).version, 2);
  const headerOnly = gguf({ tensors: [] });
  assert.equal(parseGGUF(headerOnly).tensors.length, 0);
  assert.notEqual(headerOnly.length % 32, 0); // really unpadded
  const a64 = parseGGUF(gguf({ kvs: [kvU32('general.alignment', 64)], tensors: [tensor('a', [8], F32, 0), tensor('b', [8], F32, 64)], alignment: 64, data: 96 }));
  assert.equal(a64.alignment, 64);
  assert.equal(a64.dataOffset % 64, 0);
  assert.equal(parseGGUF(gguf({ kvs: [kvStr('k', [0xef, 0xbf, 0xbd])] })).metadata.getString('k'), '\uFFFD');
});

test('a small file truncated at every byte offset fails with gguf_invalid', () => {
  for (const bytes of [valid, gguf({ tensors: [], kvs: [kvU32('a', 1), kv('b', 9, (r) => r.u32(8).u64(2).str('x').str('yz'))] })]) {
    for (let n = 0; n < bytes.length; n++) {
      const e = failure(bytes.subarray(0, n), 'cut.gguf');
      assert.ok(e instanceof HearthError && e.code === 'gguf_invalid', `cut at ${n}: ${String(e)}`);
    }
  }
});

test('stories260K truncated at every 97th byte fails with gguf_invalid and nothing else', () => {
  const bytes = readFileSync(sharedPath('models', 'stories260K.gguf'));
  let count = 0;
  for (let n = 0; n < bytes.length; n += 97) {
    const e = failure(bytes.subarray(0, n), 'stories260K-cut.gguf');
    assert.ok(e instanceof HearthError && e.code === 'gguf_invalid', `cut at ${n}: ${String(e)}`);
    count++;
  }
  assert.ok(count > 12000);
});

/** A header-only file whose KVs are `kvs` arrays of `n` empty UINT8 arrays each (12 bytes in the file apiece). */
function nestedEmptyArrays(kvs: number, n: number): Uint8Array {
  const head = new Raw().u8(0x47, 0x47, 0x55, 0x46).u32(3).u64(0).u64(kvs);
  const parts: Uint8Array[] = [new Uint8Array(head.out)];
  const empty = new Uint8Array(new Raw().u32(2).u64(0).out);
  for (let k = 0; k < kvs; k++) {
    parts.push(new Uint8Array(new Raw().str(`k${k}`).u32(9).u32(9).u64(n).out));
    const body = new Uint8Array(12 * n);
    for (let i = 0; i < n; i++) body.set(empty, 12 * i);
    parts.push(body);
  }
  return Buffer.concat(parts);
}

test('nested empty arrays past the header budget fail fast with gguf_invalid naming the limit, in bounded memory', () => {
  for (const [kvs, n] of [[1, 2_000_000], [3, 400_000]]) {
    const bytes = nestedEmptyArrays(kvs, n);
    const heap0 = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    const e = failure(bytes, 'nested.gguf');
    const ms = performance.now() - t0;
    assert.ok(e instanceof HearthError && e.code === 'gguf_invalid', String(e));
    assert.match(e.message, /more than 1048576 nested arrays in all/);
    assert.ok(ms < 10_000, `took ${ms} ms`);
    assert.ok(process.memoryUsage().heapUsed - heap0 < 400 * 2 ** 20, 'heap grew past 400 MiB');
  }
  // within the budget it reads
  assert.equal((parseGGUF(nestedEmptyArrays(1, 1000)).metadata.get('k0')!.value as unknown[]).length, 1000);
});
