// The shared K-quant routines on inputs whose answers are known by hand.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TENTH, getScaleMinK4, makeQ3Quants, makeQkx2Quants, makeQxQuants, nearestInt, packScaleMinK4,
} from './k-quant-search.ts';

test('nearestInt: ties to even, like ggml nearest_int (not Math.round)', () => {
  const cases: [number, number][] = [
    [0, 0], [-0, 0], [0.49999997, 0], [0.5, 0], [1.5, 2], [2.5, 2], [-0.5, 0], [-1.5, -2], [-2.5, -2],
    [3.4, 3], [-3.6, -4], [4194303, 4194303], [-4194304, -4194304],
  ];
  for (const [x, want] of cases) assert.equal(nearestInt(x), want, `nearestInt(${x})`);
});

test('nearestInt: outside its range it returns what the C bit trick gives', () => {
  // 4194303.5 + 1.5 * 2^23 rounds (to even) to 2^24: mantissa bits 0, so -2^22. NaN and infinities have
  // mantissa 0x400000 and 0 after the addition: 0 and -2^22.
  assert.equal(nearestInt(4194303.5), -4194304);
  assert.equal(nearestInt(NaN), 0);
  assert.equal(nearestInt(Infinity), -4194304);
  assert.equal(nearestInt(-Infinity), -4194304);
});

test('packScaleMinK4 and getScaleMinK4 invert each other for every 6-bit scale and min', () => {
  const ls = new Uint8Array(8);
  const lm = new Uint8Array(8);
  const packed = new Uint8Array(14);
  const out = new Uint8Array(2);
  for (let v = 0; v < 64; v++) {
    for (let j = 0; j < 8; j++) {
      ls[j] = (v + 7 * j) & 63;
      lm[j] = (63 - v + 5 * j) & 63;
    }
    packed.fill(0xff);
    packScaleMinK4(ls, lm, packed, 1);
    for (let j = 0; j < 8; j++) {
      getScaleMinK4(j, packed, 1, out);
      assert.deepEqual([out[0], out[1]], [ls[j], lm[j]], `v ${v} group ${j}`);
    }
    assert.equal(packed[0], 0xff, 'wrote before the offset');
    assert.equal(packed[13], 0xff, 'wrote past 12 bytes');
  }
});

test('makeQkx2Quants: values already on a grid keep their grid (scale, min and codes)', () => {
  // x = 0.25 * k - 1 for k = 0..15: min -1, scale 0.25, codes k.
  const x = Float32Array.from({ length: 16 }, (_, k) => 0.25 * k - 1);
  const L = new Uint8Array(16);
  const mins = new Float32Array(1);
  const scale = makeQkx2Quants(16, 15, x, new Float32Array(16).fill(1), L, mins, 0, new Uint8Array(16), -1, TENTH, 20, false);
  assert.equal(scale, 0.25);
  assert.equal(mins[0], 1);
  assert.deepEqual([...L], Array.from({ length: 16 }, (_, k) => k));
});

test('makeQkx2Quants: positive data keeps min 0, a flat group gives scale 0', () => {
  const x = Float32Array.from({ length: 16 }, (_, k) => 2 + 0.5 * k);
  const L = new Uint8Array(16);
  const mins = new Float32Array(1);
  const scale = makeQkx2Quants(16, 3, x, x.map(Math.abs), L, mins, 0, new Uint8Array(16), -0.5, TENTH, 15, true);
  assert.ok(scale > 0);
  assert.equal(mins[0], -0); // ggml stores -min, and the min was clamped to +0
  const flat = new Float32Array(16).fill(-3);
  const s2 = makeQkx2Quants(16, 3, flat, new Float32Array(16).fill(1), L, mins, 0, new Uint8Array(16), -0.5, TENTH, 15, true);
  assert.equal(s2, 0);
  assert.equal(mins[0], 3);
  assert.ok(L.every((v) => v === 0));
});

test('makeQxQuants: a symmetric grid is found exactly; an all-zero group gives scale 0', () => {
  // x = (i - 16) / 8 for i = 0..31: the largest magnitude is -2 at i = 0, so codes are 2 i.
  const x = Float32Array.from({ length: 32 }, (_, i) => (i - 16) / 8);
  const L = new Int8Array(32);
  assert.equal(makeQxQuants(32, 32, x, L, 1, null), 0.0625);
  assert.deepEqual([...L], Array.from({ length: 32 }, (_, i) => 2 * i));
  assert.equal(makeQxQuants(32, 32, new Float32Array(32), L, 1, null), 0);
  assert.ok(L.every((v) => v === 0));
});

test('makeQ3Quants: a grid of halves in [-2, 1.5] is kept, codes offset by 4', () => {
  const x = Float32Array.from({ length: 16 }, (_, i) => 0.5 * ((i % 8) - 4));
  const L = new Int8Array(16);
  assert.equal(makeQ3Quants(16, 4, x, L, true), 0.5);
  assert.deepEqual([...L], Array.from({ length: 16 }, (_, i) => i % 8));
});
