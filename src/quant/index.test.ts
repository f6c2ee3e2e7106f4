// The tensor-level helpers: argument checks, row handling, and the registered codec rows.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHearthError } from '../util/errors.ts';
import {
  GGMLType, dequantizeTensor, quantTraits, quantTraitsOrThrow, quantizeTensor, roundTripActivations,
  supportedQuantTypes,
} from './index.ts';
import { gaussianData } from './block-test-data.ts';

const errorWith = (code: 'invalid_argument' | 'unsupported_type', ...words: string[]) => (e: unknown) => {
  assert.ok(isHearthError(e, code), `expected HearthError ${code}, got ${String(e)}`);
  for (const w of words) assert.ok(e.message.includes(w), `message "${e.message}" does not mention ${w}`);
  return true;
};

test('every type of this set is registered with its ggml block size and bytes', () => {
  const rows = { F32: [1, 4], F16: [1, 2], BF16: [1, 2], Q4_0: [32, 18], Q4_1: [32, 20], Q5_0: [32, 22],
    Q5_1: [32, 24], Q8_0: [32, 34], Q8_1: [32, 36] } as const;
  for (const [name, [blockSize, typeSize]] of Object.entries(rows)) {
    const t = quantTraits(GGMLType[name as keyof typeof rows]);
    assert.ok(t, `${name} is not registered`);
    assert.deepEqual([t.name, t.blockSize, t.typeSize], [name, blockSize, typeSize]);
  }
  assert.ok(supportedQuantTypes().length >= Object.keys(rows).length);
});

test('a row length that is not a multiple of 32 is refused, naming the type and the length', () => {
  const x = new Float32Array(96);
  assert.throws(() => quantizeTensor(GGMLType.Q4_0, x, 48), errorWith('invalid_argument', 'Q4_0', '48', '32'));
  assert.throws(() => quantizeTensor(GGMLType.Q8_0, x, 0), errorWith('invalid_argument', 'Q8_0'));
  assert.throws(() => quantizeTensor(GGMLType.Q8_0, x, 64), errorWith('invalid_argument', 'Q8_0', '96', '64'));
  assert.throws(() => dequantizeTensor(GGMLType.Q5_1, new Uint8Array(24), 40), errorWith('invalid_argument', 'Q5_1', '40'));
  assert.throws(() => roundTripActivations(GGMLType.Q8_0, new Float32Array(33)), errorWith('invalid_argument', 'Q8_0', '33'));
});

test('a buffer shorter than the elements need is refused', () => {
  assert.throws(() => dequantizeTensor(GGMLType.Q4_0, new Uint8Array(35), 64), errorWith('invalid_argument', '36', '35'));
});

test('types without a codec are refused with unsupported_type', () => {
  assert.throws(() => quantTraitsOrThrow(999), errorWith('unsupported_type', '999'));
  assert.throws(() => quantizeTensor(GGMLType.I32, new Float32Array(4), 4), errorWith('unsupported_type', 'I32'));
  assert.throws(() => dequantizeTensor(999, new Uint8Array(4), 1), errorWith('unsupported_type'));
});

test('rows are encoded one after another, each on its own', () => {
  const x = gaussianData(32 * 6, 13);
  for (const type of [GGMLType.F16, GGMLType.Q4_1, GGMLType.Q8_0]) {
    const whole = quantizeTensor(type, x, 64);
    const rows = [0, 1, 2].map((r) => quantizeTensor(type, x.subarray(r * 64, (r + 1) * 64), 64));
    assert.deepEqual(whole, new Uint8Array(rows.flatMap((r) => [...r])));
    const flat = dequantizeTensor(type, whole, x.length);
    rows.forEach((r, i) => assert.deepEqual(flat.subarray(i * 64, (i + 1) * 64), dequantizeTensor(type, r, 64)));
  }
});

test('F32 and views at an offset round-trip exactly', () => {
  const backing = new Float32Array(40);
  backing.set(gaussianData(40, 14));
  const view = backing.subarray(8, 40); // byteOffset 32
  const bytes = quantizeTensor(GGMLType.F32, view, 32);
  const unaligned = new Uint8Array(bytes.length + 1).subarray(1); // byteOffset 1
  unaligned.set(bytes);
  assert.deepEqual(dequantizeTensor(GGMLType.F32, unaligned, 32), view);
});
