// Inputs at the edges of the block formats: empty blocks, outliers, one-signed blocks, tiny scales.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GGMLType, dequantizeTensor, quantizeTensor, quantTraitsOrThrow } from './index.ts';
import { gaussianData } from './block-test-data.ts';

const BLOCK_TYPES = ['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q8_1'] as const;
const ALL_TYPES = ['F32', 'F16', 'BF16', ...BLOCK_TYPES] as const;

const roundTrip = (type: number, x: Float32Array): Float32Array =>
  dequantizeTensor(type, quantizeTensor(type, x, x.length), x.length);

// (Q4_0 and Q5_0 store d = 0 / -8 = -0, as ggml does; the sign bit is harmless.)
test('all-zero blocks: scale 0, every value exactly 0, no NaN', () => {
  const x = new Float32Array(64);
  x.fill(-0, 32); // a block of negative zeros too
  for (const name of BLOCK_TYPES) {
    const q = quantizeTensor(GGMLType[name], x, 64);
    const { typeSize } = quantTraitsOrThrow(GGMLType[name]);
    for (let b = 0; b < 2; b++) {
      const d = q[b * typeSize] | (q[b * typeSize + 1] << 8);
      assert.equal(d & 0x7fff, 0, `${name}: d of block ${b} is 0x${d.toString(16)}, not ±0`);
    }
    const y = dequantizeTensor(GGMLType[name], q, 64);
    assert.ok(y.every((v) => v === 0), `${name}: zeros decoded to ${[...y]}`);
  }
});

test('one huge value in a block: it survives (f16 scale precision), the rest stay finite', () => {
  const x = gaussianData(64, 3);
  x[7] = 1e4;
  x[40] = -1e4;
  for (const name of ALL_TYPES) {
    const y = roundTrip(GGMLType[name], x);
    assert.ok(y.every(Number.isFinite), `${name}: non-finite output`);
    // The extreme element gets the extreme code, so only the f16 rounding of d (2^-11 relative) is lost;
    // BF16 keeps 8 bits (2^-8 relative).
    const tol = 1e4 * (name === 'BF16' ? 2 ** -8 : 2 ** -10);
    assert.ok(Math.abs(y[7] - 1e4) <= tol, `${name}: 1e4 decoded as ${y[7]}`);
    assert.ok(Math.abs(y[40] + 1e4) <= tol, `${name}: -1e4 decoded as ${y[40]}`);
  }
});

test('negative-only blocks decode to values that are not positive (beyond f16 rounding)', () => {
  const x = gaussianData(32 * 64, 5).map((v) => -Math.abs(v) - 0.01);
  for (const name of BLOCK_TYPES) {
    const y = roundTrip(GGMLType[name], x);
    for (let i = 0; i < x.length; i++) {
      assert.ok(y[i] <= 4 * 2 ** -11, `${name}: element ${i} (${x[i]}) decoded as ${y[i]}`);
    }
  }
});

test('wide dynamic range (1e-9 .. 1e4 per block, f16-subnormal scales) gives finite output', () => {
  const x = gaussianData(32 * 256, 9);
  for (let b = 0; b < 256; b++) {
    const scale = 10 ** (-9 + (13 * b) / 255);
    for (let j = 0; j < 32; j++) x[b * 32 + j] *= scale;
  }
  for (const name of ALL_TYPES) {
    const y = roundTrip(GGMLType[name], x);
    const bad = y.findIndex((v) => !Number.isFinite(v));
    assert.equal(bad, -1, `${name}: element ${bad} of input ${x[bad]} decoded as ${y[bad]}`);
  }
});

test('blocks too small for an f16 scale decode to zeros, not garbage', () => {
  // amax / 127 = 1e-10 is far below the smallest f16 subnormal (6e-8): d is stored as 0.
  const x = gaussianData(32, 4).map((v) => v * 1e-9);
  for (const name of ['Q4_0', 'Q5_0', 'Q8_0', 'Q8_1'] as const) {
    const y = roundTrip(GGMLType[name], x);
    assert.ok(y.every((v) => v === 0), `${name}: ${[...y]}`);
  }
});
