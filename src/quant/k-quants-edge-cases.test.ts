// K-quants at the edges: empty and constant blocks, one outlier, one-signed data, extreme magnitudes,
// Q8_K's bookkeeping, and rows that do not fit the 256-element super-block.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHearthError } from '../util/errors.ts';
import { GGMLType, dequantizeTensor, quantTraitsOrThrow, quantizeTensor } from './index.ts';
import { gaussianData, nmse } from './block-test-data.ts';

const TYPES = ['Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'Q8_K'] as const;
type KType = (typeof TYPES)[number];

const roundTrip = (name: KType, x: Float32Array): Float32Array =>
  dequantizeTensor(GGMLType[name], quantizeTensor(GGMLType[name], x, x.length), x.length);

test('all-zero blocks (and -0) encode to all-zero bytes and decode to exact zeros', () => {
  const x = new Float32Array(512);
  x.fill(-0, 256);
  for (const name of TYPES) {
    const q = quantizeTensor(GGMLType[name], x, x.length);
    assert.ok(q.every((b) => b === 0), `${name}: non-zero byte in an all-zero encoding`);
    assert.ok(roundTrip(name, x).every((v) => v === 0), `${name}: zeros did not decode to zeros`);
  }
});

test('a constant block comes back within the f16 scale precision', () => {
  // The constant takes the top code of its group, so what is lost is d's f16 rounding (2^-11 relative)
  // and the rounding of the 4/6-bit group scale to that d: 1e-3 relative covers both.
  for (const c of [0.7, -0.7, 3, -250]) {
    for (const name of TYPES) {
      const y = roundTrip(name, new Float32Array(256).fill(c));
      for (const v of y) assert.ok(Math.abs(v - c) <= 1e-3 * Math.abs(c), `${name}: constant ${c} decoded as ${v}`);
    }
  }
});

test('one outlier: it keeps its value, and the small values around it stay near their size', () => {
  const x = gaussianData(256, 5, 0.01);
  x[100] = 10;
  for (const name of TYPES) {
    const y = roundTrip(name, x);
    assert.ok(Math.abs(y[100] - 10) < 1e-2, `${name}: outlier 10 decoded as ${y[100]}`);
    // Groups without the outlier get a scale of a few 6-bit steps of the outlier's, or 0; either way
    // their error stays about the size of the values (0.01 sigma), far below the outlier's step.
    for (let i = 0; i < 256; i++) {
      if (i !== 100) assert.ok(Math.abs(y[i] - x[i]) < 0.1, `${name}: element ${i} ${x[i]} decoded as ${y[i]}`);
    }
  }
});

test('one-signed data (all negative, all positive) round-trips as well as N(0, 1) does', () => {
  // Bounds of k-quants-accuracy.test.ts; values |N(0,1)| + 0.5 have a smaller spread relative to size.
  const bound: Record<KType, number> = { Q2_K: 0.12, Q3_K: 0.035, Q4_K: 8e-3, Q5_K: 2e-3, Q6_K: 5e-4, Q8_K: 8e-5 };
  const base = gaussianData(256 * 16, 6);
  const negative = base.map((v) => -Math.abs(v) - 0.5);
  const positive = base.map((v) => Math.abs(v) + 0.5);
  for (const name of TYPES) {
    for (const x of [negative, positive]) {
      const y = roundTrip(name, x);
      const e = nmse(x, y);
      assert.ok(e < bound[name], `${name}: NMSE ${e} on one-signed data`);
    }
  }
});

test('magnitudes from 1e-30 to 1e4: never NaN or infinite; tiny blocks flush to zero with d', () => {
  // (Beyond the f16 range of d, e.g. Q2_K blocks near 1e6, d overflows to infinity exactly as in ggml.)
  for (const sigma of [1e-30, 1e-12, 1e-6, 1e-3, 1, 1e2, 1e4]) {
    const x = gaussianData(1024, 9, sigma);
    x[3] = 0; // a zero inside
    x.fill(0, 512, 528); // a zero group inside a block
    for (const name of TYPES) {
      const y = roundTrip(name, x);
      assert.ok(y.every(Number.isFinite), `${name}: non-finite output at sigma ${sigma}`);
      if (sigma >= 1e-3) assert.ok(nmse(x, y) < 0.15, `${name}: NMSE ${nmse(x, y)} at sigma ${sigma}`);
      // d is f16 for all but Q8_K: blocks far below its smallest subnormal (6e-8) decode to zeros.
      if (sigma === 1e-30 && name !== 'Q8_K') assert.ok(y.every((v) => v === 0), `${name}: 1e-30 block not flushed`);
    }
  }
});

test('Q8_K: the largest magnitude maps to -127 with d = -max/127, and bsums are the sums of 16 qs', () => {
  const x = gaussianData(512, 21);
  x[17] = 4; // the largest in block 0 (positive)
  x[300] = -5; // the largest in block 1 (negative)
  const q = quantizeTensor(GGMLType.Q8_K, x, 512);
  const view = new DataView(q.buffer, q.byteOffset, q.byteLength);
  const qs = new Int8Array(q.buffer, q.byteOffset, q.byteLength);
  assert.equal(qs[4 + 17], -127);
  assert.equal(view.getFloat32(0, true), Math.fround(1 / Math.fround(-127 / 4)));
  assert.equal(qs[292 + 4 + 44], -127);
  assert.equal(view.getFloat32(292, true), Math.fround(1 / Math.fround(-127 / -5)));
  for (let b = 0; b < 2; b++) {
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let i = 0; i < 16; i++) {
        const v = qs[292 * b + 4 + 16 * j + i];
        assert.ok(v >= -127 && v <= 127);
        sum += v;
      }
      assert.equal(view.getInt16(292 * b + 260 + 2 * j, true), sum, `block ${b} bsum ${j}`);
    }
  }
});

test('rows that are not a multiple of 256, or buffers too small, are refused with invalid_argument', () => {
  for (const name of TYPES) {
    const t = quantTraitsOrThrow(GGMLType[name]);
    for (const n of [100, 300, 257]) {
      assert.throws(() => t.quantize(new Float32Array(n), new Uint8Array(4096), n),
        (e) => isHearthError(e, 'invalid_argument'), `${name} quantize n=${n}`);
      assert.throws(() => t.dequantize(new Uint8Array(4096), new Float32Array(n), n),
        (e) => isHearthError(e, 'invalid_argument'), `${name} dequantize n=${n}`);
    }
    assert.throws(() => t.quantize(new Float32Array(512), new Uint8Array(t.typeSize), 512),
      (e) => isHearthError(e, 'invalid_argument'), `${name}: short destination`);
    assert.throws(() => t.dequantize(new Uint8Array(t.typeSize), new Float32Array(512), 512),
      (e) => isHearthError(e, 'invalid_argument'), `${name}: short source`);
    assert.throws(() => quantizeTensor(GGMLType[name], new Float32Array(300), 300),
      (e) => isHearthError(e, 'invalid_argument'), `${name}: quantizeTensor with rows of 300`);
  }
});

test('rows are independent: encoding a row inside a larger buffer gives the same bytes as alone', () => {
  const x = gaussianData(256 * 3, 33);
  for (const name of TYPES) {
    const t = quantTraitsOrThrow(GGMLType[name]);
    const whole = new Uint8Array(3 * t.typeSize + 8);
    t.quantize(x, whole.subarray(8), x.length); // a destination view at a byte offset
    const alone = new Uint8Array(t.typeSize);
    t.quantize(x.subarray(256, 512), alone, 256);
    assert.deepEqual(whole.subarray(8 + t.typeSize, 8 + 2 * t.typeSize), alone, name);
    const y = new Float32Array(256);
    t.dequantize(whole.subarray(8 + t.typeSize), y, 256);
    assert.deepEqual(y, dequantizeTensor(GGMLType[name], alone, 256), name);
  }
});
