import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GGMLType } from '../../gguf/ggml-types.ts';
import type { WeightTensor } from '../backend.ts';
import { matmulId, moeCombine, moeRoute, MOE_WEIGHT_SUM_MIN } from './moe.ts';

const close = (got: ArrayLike<number>, want: number[], tol = 1e-6) =>
  want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) <= tol, `[${i}] ${got[i]} vs ${w}`));

test('moeRoute: softmax probabilities of the top-k, most probable first, renormalised to sum 1', () => {
  // probs 1/7, 2/7, 4/7 for token 0; token 1 reversed with one more expert tied low
  const logits = Float32Array.from([0, Math.log(2), Math.log(4), Math.log(4), Math.log(2), 0]);
  const plain = moeRoute(logits, 2, 3, 2, false);
  assert.deepEqual([...plain.ids], [2, 1, 0, 1]);
  close(plain.weights, [4 / 7, 2 / 7, 4 / 7, 2 / 7]);
  const norm = moeRoute(logits, 2, 3, 2, true);
  assert.deepEqual([...norm.ids], [2, 1, 0, 1]);
  close(norm.weights, [4 / 6, 2 / 6, 4 / 6, 2 / 6]);
  // ties go to the lower expert id
  assert.deepEqual([...moeRoute(new Float32Array(4), 1, 4, 2, true).ids], [0, 1]);
  assert.throws(() => moeRoute(logits, 2, 3, 4, true), /experts used/);
});

test('moeRoute: the weight sum is clamped below at the smallest normal f16, as llama.cpp does', () => {
  // 20000 equal experts: the top-1 probability 5e-5 is under the clamp, so it is not renormalised to 1
  const r = moeRoute(new Float32Array(20_000), 1, 20_000, 1, true);
  close(r.weights, [Math.fround(1 / 20_000) / MOE_WEIGHT_SUM_MIN]);
  assert.ok(r.weights[0] < 0.9);
  // 1000 experts: 1e-3 is above it, so one expert takes weight 1
  close(moeRoute(new Float32Array(1000), 1, 1000, 1, true).weights, [1]);
});

test('matmulId and moeCombine: rows by expert, weighted sum per token', () => {
  const f32 = (v: number[]) => Float32Array.from(v);
  // 2 experts of [2 cols, 1 row]: e0 sums, e1 takes the difference
  const e = (name: string, v: number[]): WeightTensor => ({ name, type: GGMLType.F32, cols: 2, rows: 1, data: new Uint8Array(f32(v).buffer) });
  const experts = [e('sum', [1, 1]), e('diff', [1, -1])];
  const x = f32([3, 1, 5, 2]);
  const y = new Float32Array(3);
  matmulId(experts, x, Int32Array.from([0, 1, 1]), Int32Array.from([1, 0, 1]), y, false);
  close(y, [2, 7, 3]);
  const out = new Float32Array(1);
  moeCombine(y, f32([0.5, 0.25, 0.25]), 1, 3, 1, out);
  close(out, [1 + 1.75 + 0.75]);
  assert.throws(() => matmulId(experts, x, Int32Array.from([2]), Int32Array.from([0]), y, false), /outside the input/);
  assert.throws(() => matmulId(experts, x, Int32Array.from([0]), Int32Array.from([2]), y, false), /expert id/);
});
