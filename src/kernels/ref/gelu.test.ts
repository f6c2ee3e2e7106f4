// The new reference ops on hand-checkable values: erf, the gelu forms, geglu, layerNorm, scale and softcap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roundF16 } from '../../util/f16.ts';
import { erf, geglu, gelu, geluErf, geluF32 } from './gelu.ts';
import { layerNorm } from './layer-norm.ts';
import { scale, softcap } from './scale.ts';

test('erf against known values', () => {
  const known: [number, number][] = [[0, 0], [0.5, 0.5204998778130465], [1, 0.8427007929497149],
    [2, 0.9953222650189527], [3, 0.9999779095030014], [-1.5, -0.9661051464753108], [5, 0.9999999999984626]];
  for (const [x, want] of known) assert.ok(Math.abs(erf(x) - want) < 1e-14, `erf(${x}) = ${erf(x)}`);
});

test('gelu is ggml\'s f16 table: 0 below -10, x above 10, f16 in between', () => {
  const x = Float32Array.from([-11, -10, 10, 12, 1, -1, 0.1]);
  gelu(x);
  assert.deepEqual([...x.subarray(0, 4)], [0, 0, 10, 12]);
  assert.equal(x[4], roundF16(geluF32(1)));
  assert.ok(Math.abs(x[4] - 0.8411920) < 1e-3 && Math.abs(x[5] + 0.1588080) < 1e-3);
  assert.equal(x[6], roundF16(geluF32(roundF16(0.1))));
});

test('geglu is gelu(gate) * up; geluErf is the erf form', () => {
  const g = Float32Array.from([1, -20, 2]);
  const ref = g.slice();
  gelu(ref);
  geglu(g, Float32Array.from([2, -3, 0.5]));
  assert.deepEqual([...g], [Math.fround(ref[0] * 2), 0, Math.fround(ref[2] * 0.5)]);
  const e = Float32Array.from([1, -1, 0]);
  geluErf(e);
  assert.ok(Math.abs(e[0] - 0.8413447460685429) < 1e-7 && Math.abs(e[1] + 0.15865525393145707) < 1e-7 && e[2] === 0);
});

test('layerNorm: zero mean, unit variance, then weight and bias', () => {
  const x = Float32Array.from([1, 2, 3, 4, 10, 10, 10, 10]);
  const out = new Float32Array(8);
  layerNorm(x, undefined, undefined, 1e-6, 4, 2, out);
  const sd = Math.sqrt(1.25);
  for (const [i, want] of [-1.5, -0.5, 0.5, 1.5].entries()) assert.ok(Math.abs(out[i] - want / sd) < 1e-6);
  assert.deepEqual([...out.subarray(4)], [0, 0, 0, 0]);
  layerNorm(x, Float32Array.from([2, 2, 2, 2]), Float32Array.from([1, 1, 1, 1]), 1e-6, 4, 2, out);
  assert.ok(Math.abs(out[0] - (1 - 3 / sd)) < 1e-6 && out[4] === 1);
});

test('scale and softcap', () => {
  const x = Float32Array.from([1, -2, 100]);
  scale(x, 0.5);
  assert.deepEqual([...x], [0.5, -1, 50]);
  softcap(x, 30);
  assert.ok(Math.abs(x[2] - 30 * Math.tanh(50 / 30)) < 1e-4 && Math.abs(x[0] - 30 * Math.tanh(0.5 / 30)) < 1e-6);
});
