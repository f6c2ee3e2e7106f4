// Writer: byte-exact layout, round trips of the real shared files, alignment, streaming and validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedPath } from '../../test/shared.ts';
import { isHearthError } from '../util/errors.ts';
import {
  openGGUF, parseGGUF, writeGGUF, serializeGGUF, GGUFMetadata, GGUFValueType as V, GGMLType,
  type GGUFFile, type GGUFTensorInput,
} from './index.ts';

const tmp = mkdtempSync(join(tmpdir(), 'hearth-gguf-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const invalidArg = (pattern: RegExp) => (e: unknown) => isHearthError(e, 'invalid_argument') && pattern.test(e.message);

/** The tensors of a file as writer input, each read only when the writer asks for it. */
function tensorsOf(f: GGUFFile, calls: string[] = []): GGUFTensorInput[] {
  return f.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.type, data: () => { calls.push(t.name); return f.readTensor(t); } }));
}

test('layout is the standard one, byte for byte (encoded independently here)', () => {
  const meta = new GGUFMetadata().u32('a.b', 7);
  const data = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const out = serializeGGUF({ metadata: meta, tensors: [{ name: 't', shape: [2], type: GGMLType.F32, data }] });

  const exp: number[] = [];
  const u32 = (v: number) => exp.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
  const u64 = (v: number) => { u32(v); u32(0); };
  const str = (s: string) => { u64(s.length); for (const ch of s) exp.push(ch.charCodeAt(0)); };
  exp.push(0x47, 0x47, 0x55, 0x46); // "GGUF"
  u32(3); u64(1); u64(1);
  str('a.b'); u32(4); u32(7); // key, UINT32, value
  str('t'); u32(1); u64(2); u32(0); u64(0); // name, n_dims, ne[0], F32, offset
  while (exp.length % 32) exp.push(0);
  exp.push(...data);
  while (exp.length % 32) exp.push(0); // each tensor padded too, the last one included
  assert.deepEqual(out, new Uint8Array(exp));
});

test('stories260K round trip through writeGGUF: same metadata, tensors and bytes', () => {
  const src = sharedPath('models', 'stories260K.gguf');
  const dst = join(tmp, 'stories-copy.gguf');
  const f = openGGUF(src);
  const calls: string[] = [];
  const size = writeGGUF(dst, { metadata: f.metadata, tensors: tensorsOf(f, calls) });
  // Each tensor's data was asked for once, in file order (streamed, not gathered up front).
  assert.deepEqual(calls, f.tensors.map((t) => t.name));
  assert.equal(size, f.size);
  const g = openGGUF(dst);
  try {
    assert.deepEqual([...g.metadata], [...f.metadata]); // keys, order, GGUF types and values
    assert.deepEqual(g.tensors.map((t) => ({ ...t, offset: 0 })), f.tensors.map((t) => ({ ...t, offset: 0 })));
    for (const t of f.tensors) assert.deepEqual(g.readTensor(t.name), f.readTensor(t));
    // stories260K was written with the standard layout, so the copy is byte-identical.
    assert.deepEqual(readFileSync(dst), readFileSync(src));
  } finally {
    f.close();
    g.close();
  }
  assert.deepEqual(readdirSync(tmp).filter((n) => n.endsWith('.tmp')), []);
});

test('every shared GGUF re-serializes byte-identically (all use the standard layout)', () => {
  const paths = [sharedPath('models', 'llama-2-tiny-random.gguf'),
    ...readdirSync(sharedPath('vocab')).filter((n) => n.endsWith('.gguf')).map((n) => sharedPath('vocab', n))];
  for (const p of paths) {
    const bytes = readFileSync(p);
    const f = parseGGUF(bytes, p);
    const out = serializeGGUF({ metadata: f.metadata, tensors: tensorsOf(f) });
    assert.ok(Buffer.from(out).equals(bytes), `${p} differs after a round trip`);
  }
});

test('alignment: non-default is written as general.alignment (UINT32) and honoured', () => {
  const data = new Uint8Array(40).fill(9);
  const tensors = [
    { name: 'a', shape: [10], type: GGMLType.F32, data },
    { name: 'b', shape: [5, 2], type: GGMLType.F32, data },
  ];
  const f = parseGGUF(serializeGGUF({ metadata: new GGUFMetadata().string('general.architecture', 'x'), tensors, alignment: 64 }));
  assert.equal(f.alignment, 64);
  assert.deepEqual(f.metadata.get('general.alignment'), { type: V.UINT32, value: 64 });
  assert.equal(f.dataOffset % 64, 0);
  assert.equal(f.tensors[1].offset - f.tensors[0].offset, 64);
  assert.equal(f.size, f.dataOffset + 128);
  // Same alignment given twice is fine; the default is not written at all.
  const again = serializeGGUF({ metadata: f.metadata, tensors, alignment: 64 });
  assert.equal(parseGGUF(again).alignment, 64);
  const dflt = parseGGUF(serializeGGUF({ metadata: new GGUFMetadata(), tensors, alignment: 32 }));
  assert.equal(dflt.metadata.has('general.alignment'), false);
  assert.throws(() => serializeGGUF({ metadata: f.metadata, tensors, alignment: 128 }), invalidArg(/disagrees/));
  assert.throws(() => serializeGGUF({ metadata: new GGUFMetadata(), alignment: 48 }), invalidArg(/power of two/));
  assert.throws(() => serializeGGUF({ metadata: new GGUFMetadata().u64('general.alignment', 64) }), invalidArg(/UINT32/));
});

test('quantized tensor sizes follow the type layout', () => {
  const q8 = new Uint8Array(2 * 2 * 34); // [64, 2] Q8_0: 2 blocks of 34 bytes per row
  const f = parseGGUF(serializeGGUF({ metadata: new GGUFMetadata(), tensors: [{ name: 'q', shape: [64, 2], type: GGMLType.Q8_0, data: q8 }] }));
  assert.equal(f.tensors[0].byteSize, 136);
  assert.equal(f.tensors[0].type, GGMLType.Q8_0);
});

test('writer rejects bad input with invalid_argument', () => {
  const m = new GGUFMetadata();
  const t = (over: Partial<GGUFTensorInput>): GGUFTensorInput[] =>
    [{ name: 'w', shape: [4, 2], type: GGMLType.F32, data: new Uint8Array(32), ...over }];
  const cases: [GGUFTensorInput[], RegExp][] = [
    [t({ data: new Uint8Array(31) }), /data is 31 bytes.*needs 32 bytes/],
    [t({ data: () => new Uint8Array(64) }), /data is 64 bytes/],
    [t({ type: 4 }), /unknown ggml type id 4/],
    [t({ type: GGMLType.Q8_0, shape: [33], data: new Uint8Array(34) }), /row length 33 is not a multiple of the Q8_0 block size 32/],
    [t({ shape: [1, 1, 1, 1, 1] }), /1\.\.4 dimensions/],
    [t({ shape: [] }), /1\.\.4 dimensions/],
    [t({ shape: [4, 0] }), /dimension 0 is not a positive integer/],
    [t({ shape: [2 ** 30, 2 ** 30] }), /exceeds 2\^53/],
    [t({ name: 'x'.repeat(64) }), /longer than 63 bytes/],
    [t({ name: '' }), /non-empty/],
    [[...t({}), ...t({})], /duplicate tensor name "w"/],
  ];
  for (const [tensors, pattern] of cases) {
    assert.throws(() => serializeGGUF({ metadata: m, tensors }), invalidArg(pattern), String(pattern));
  }
  const bad = new Map([['k', { type: V.FLOAT32, value: new Int32Array(1) }]]) as never;
  assert.throws(() => serializeGGUF({ metadata: bad }), invalidArg(/"k".*FLOAT32 value must be a number/));
});

test('a failed write leaves neither the target nor a temporary file', () => {
  const dst = join(tmp, 'failed.gguf');
  const tensors: GGUFTensorInput[] = [
    { name: 'a', shape: [8], type: GGMLType.F32, data: new Uint8Array(32) },
    { name: 'b', shape: [8], type: GGMLType.F32, data: () => { throw new Error('source went away'); } },
  ];
  assert.throws(() => writeGGUF(dst, { metadata: new GGUFMetadata(), tensors }), { message: 'source went away' });
  assert.equal(existsSync(dst), false);
  assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('failed')), []);
  assert.throws(() => writeGGUF(join(tmp, 'no-such-dir', 'x.gguf'), { metadata: new GGUFMetadata() }),
    (e) => isHearthError(e, 'io_error') && /no-such-dir/.test(e.message));
});
