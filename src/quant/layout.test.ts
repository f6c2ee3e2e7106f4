// Block layouts, checked against hand-built blocks: every expected value below comes from the format
// (ggml-common.h), worked out by hand, not from running the codecs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GGMLType, dequantizeTensor, quantizeTensor } from './index.ts';

const range = (n: number, f: (j: number) => number): number[] => Array.from({ length: n }, (_, j) => f(j));
const bytes = (...parts: (number | number[])[]): Uint8Array => new Uint8Array(parts.flat());
const decode = (type: number, b: Uint8Array, n: number): number[] => [...dequantizeTensor(type, b, n)];
const encode = (type: number, x: number[]): number[] => [...quantizeTensor(type, new Float32Array(x), x.length)];

test('F32 is little-endian IEEE single', () => {
  assert.deepEqual(decode(GGMLType.F32, bytes(0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0x80, 0x7f), 3), [1.5, -2, Infinity]);
  assert.deepEqual(encode(GGMLType.F32, [1.5, -2]), [0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0]);
});

test('F16 decodes normals, subnormals and the largest half', () => {
  const b = bytes(0x00, 0x3c, 0x00, 0xc0, 0x55, 0x35, 0x01, 0x00, 0xff, 0x7b);
  assert.deepEqual(decode(GGMLType.F16, b, 5), [1, -2, 0.333251953125, 2 ** -24, 65504]);
});

test('F16 encodes with round-to-nearest-even', () => {
  // 1/3 rounds down to 0x3555; 65520 is halfway to 65536 and ties to even (infinity); -0 keeps its sign;
  // 2^-25 ties down to 0 and 3 * 2^-25 ties up to 2 * 2^-24.
  const x = [1 / 3, 65519, 65520, -0, 2 ** -25, 3 * 2 ** -25];
  assert.deepEqual(encode(GGMLType.F16, x), [0x55, 0x35, 0xff, 0x7b, 0x00, 0x7c, 0x00, 0x80, 0x00, 0x00, 0x02, 0x00]);
});

test('BF16 is the top half of an f32, rounded to nearest even, NaN kept quiet', () => {
  assert.deepEqual(decode(GGMLType.BF16, bytes(0x80, 0x3f, 0x40, 0xc0), 2), [1, -3]);
  const sNaN = new Float32Array(new Uint32Array([0x7f800001]).buffer)[0];
  const x = [1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, sNaN];
  assert.deepEqual(encode(GGMLType.BF16, x), [0x80, 0x3f, 0x82, 0x3f, 0x81, 0x3f, 0xc0, 0x7f]);
});

// Shared nibble pattern: qs[j] = j | (15 - j) << 4.
const NIBBLES = range(16, (j) => j | ((15 - j) << 4));

test('Q4_0 block: (nibble - 8) * d, low nibbles first', () => {
  const block = bytes(0x00, 0x38, NIBBLES); // d = 0.5
  const expected = [
    -4, -3.5, -3, -2.5, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5,
    3.5, 3, 2.5, 2, 1.5, 1, 0.5, 0, -0.5, -1, -1.5, -2, -2.5, -3, -3.5, -4,
  ];
  assert.deepEqual(decode(GGMLType.Q4_0, block, 32), expected);
});

test('Q4_1 block: nibble * d + m', () => {
  const block = bytes(0x00, 0x34, 0x00, 0xbc, NIBBLES); // d = 0.25, m = -1
  const expected = [
    -1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75,
    2.75, 2.5, 2.25, 2, 1.75, 1.5, 1.25, 1, 0.75, 0.5, 0.25, 0, -0.25, -0.5, -0.75, -1,
  ];
  assert.deepEqual(decode(GGMLType.Q4_1, block, 32), expected);
});

// qh = 0x80100021: fifth bits set for elements 0, 5, 20 and 31. qs[j] = j | j << 4.
const QH = [0x21, 0x00, 0x10, 0x80];
const SAME_NIBBLES = range(16, (j) => j * 17);

test('Q5_0 block: (nibble | qh bit << 4) - 16, times d', () => {
  const block = bytes(0x00, 0x3c, QH, SAME_NIBBLES); // d = 1
  const expected = [
    0, -15, -14, -13, -12, 5, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1,
    -16, -15, -14, -13, 4, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, 15,
  ];
  assert.deepEqual(decode(GGMLType.Q5_0, block, 32), expected);
});

test('Q5_1 block: (nibble | qh bit << 4) * d + m', () => {
  const block = bytes(0x00, 0x38, 0x00, 0x3c, QH, SAME_NIBBLES); // d = 0.5, m = 1
  const expected = [
    9, 1.5, 2, 2.5, 3, 11.5, 4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8, 8.5,
    1, 1.5, 2, 2.5, 11, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8, 16.5,
  ];
  assert.deepEqual(decode(GGMLType.Q5_1, block, 32), expected);
});

test('Q8_0 block: signed byte * d', () => {
  const block = bytes(0x00, 0x30, range(32, (j) => 128 + 8 * j)); // d = 0.125, qs = -128, -120, ..., 120
  assert.deepEqual(decode(GGMLType.Q8_0, block, 32), range(32, (j) => j - 16));
});

test('Q8_1 block: signed byte * d; s is skipped', () => {
  const block = bytes(0x00, 0x40, 0x00, 0x00, range(32, (j) => (j - 16) & 0xff)); // d = 2, s = 0
  assert.deepEqual(decode(GGMLType.Q8_1, block, 32), range(32, (j) => 2 * (j - 16)));
});

test('Q4_0 encode: signed max maps to -8, d = max / -8', () => {
  // Largest magnitude is -8: d = 1, q = x + 8.
  const x = [...range(16, (j) => j - 8), ...range(16, (j) => 7 - j)];
  assert.deepEqual(encode(GGMLType.Q4_0, x), [0x00, 0x3c, ...NIBBLES]);
  // Largest magnitude positive: d = -1 and that element gets q = 0.
  const y = [8, ...range(31, () => 0)];
  assert.deepEqual(encode(GGMLType.Q4_0, y), [0x00, 0xbc, 0x80, ...range(15, () => 0x88)]);
  // The opposite extreme (+8 when max is -8) would need q = 16 and is clamped to 15.
  const z = [-8, 8, ...range(30, () => 0)];
  assert.deepEqual(encode(GGMLType.Q4_0, z), [0x00, 0x3c, 0x80, 0x8f, ...range(14, () => 0x88)]);
});

test('Q4_1 encode: d = (max - min) / 15, m = min', () => {
  const x = [...range(16, (j) => j + 1), ...range(16, (j) => 16 - j)];
  assert.deepEqual(encode(GGMLType.Q4_1, x), [0x00, 0x3c, 0x00, 0x3c, ...NIBBLES]);
});

test('Q5_0 encode: d = max / -16, fifth bits in qh', () => {
  const x = range(32, (j) => j - 16); // q = j: elements 16..31 carry the fifth bit
  assert.deepEqual(encode(GGMLType.Q5_0, x), [0x00, 0x3c, 0x00, 0x00, 0xff, 0xff, ...SAME_NIBBLES]);
});

test('Q5_1 encode: d = (max - min) / 31, m = min', () => {
  const x = range(32, (j) => 0.5 * j + 1); // d = 0.5, m = 1, q = j
  assert.deepEqual(encode(GGMLType.Q5_1, x), [0x00, 0x38, 0x00, 0x3c, 0x00, 0x00, 0xff, 0xff, ...SAME_NIBBLES]);
});

test('Q8_0 encode: d = amax / 127, roundf sends halves away from zero', () => {
  const x = [127, -63.5, 2.5, -2.5, 0.49, -0.5, ...range(26, () => 0)];
  assert.deepEqual(encode(GGMLType.Q8_0, x), [0x00, 0x3c, 0x7f, 0xc0, 0x03, 0xfd, 0x00, 0xff, ...range(26, () => 0)]);
});

test('Q8_1 encode: s = d * sum(qs)', () => {
  const x = [127, -127, 1, 2, ...range(28, () => 0)]; // d = 1, sum = 3
  assert.deepEqual(encode(GGMLType.Q8_1, x), [0x00, 0x3c, 0x00, 0x42, 0x7f, 0x81, 0x01, 0x02, ...range(28, () => 0)]);
});
