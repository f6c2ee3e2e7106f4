// Conformance: every wasm matmul kernel against the reference matmul with the same activation rounding
// (roundActivations true), on random weights and inputs, odd and large shapes, 1/3/12/17 tokens, 1 and 2
// threads, the plain SIMD128 build and (where the engine has it) the relaxed-SIMD build.
// Both sides compute the same products of the same rounded numbers; only the order and precision of the
// sums differ (the reference sums in f64, the kernels in f32 lanes), hence the tiny bounds.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GGMLType, typeLayout, typeName } from '../../gguf/ggml-types.ts';
import type { WeightTensor } from '../backend.ts';
import { matmul as refMatmul } from '../ref/matmul.ts';
import { createCpuBackend, type CpuBackend } from './backend.ts';
import { kernelTypes } from './kernel-table.ts';
import { relaxedSimdSupported } from './module.ts';
import { nmse, randomFloats, randomWeight } from './test-util.ts';
import { readNow, tensorFrom } from '../test-tensors.ts';

/**
 * NMSE bound per type: f32 summation-order noise (measured at most 4e-13 on these cases), far below what a
 * wrong scale or a misplaced quant gives (1e-8 for a scale off by 1e-4; ~1e-3 for one quant step). Q4_1 and
 * Q5_1 get more room: the reference decodes their weights as f32(f32(q * d) + m), a rounding as large as the
 * min itself, and in the one-output cases (1 row, 1 token) a sum that happens to cancel shows it (1e-10 seen).
 */
const NMSE_BOUND: Record<string, number> = {
  F32: 1e-11, F16: 1e-11, BF16: 1e-11,
  Q4_0: 1e-11, Q4_1: 1e-9, Q5_0: 1e-11, Q5_1: 1e-9, Q8_0: 1e-11,
  Q2_K: 1e-11, Q3_K: 1e-11, Q4_K: 1e-11, Q5_K: 1e-11, Q6_K: 1e-11,
};

interface Case { type: number; cols: number; rows: number; nTok: number; w: Uint8Array; x: Float32Array; ref: Float32Array }

/** Shapes per block size: a single block, odd sizes, one wide row set and one tall (4096-row) matrix. */
function shapes(block: number): [number, number][] {
  const b = Math.max(block, 32);
  const all: [number, number][] = [[b, 1], [3 * b, 7], [b === 32 ? 2048 : 2 * b * 4, 33], [b, 4096]];
  // float types take any row length: cover the 8-column steps' tail
  if (block === 1) all.push([172, 5], [13, 3]);
  return all;
}

const cases: Case[] = [];
let seed = 1;
for (const type of kernelTypes()) {
  const block = typeLayout(type)!.blockSize;
  for (const [cols, rows] of shapes(block)) {
    const w = randomWeight(type, cols, rows, seed++);
    for (const nTok of [1, 3, 12, 17]) {
      const x = randomFloats(cols * nTok, seed++);
      const ref = new Float32Array(rows * nTok);
      refMatmul({ name: 'w', type: type as WeightTensor['type'], cols, rows, data: w }, x, nTok, ref, true);
      cases.push({ type, cols, rows, nTok, w, x, ref });
    }
  }
}

const variants: { threads: number; relaxed: boolean }[] = [];
for (const relaxed of relaxedSimdSupported() ? [false, true] : [false]) {
  for (const threads of [1, 2]) variants.push({ threads, relaxed });
}

for (const v of variants) {
  describe(`cpu matmul, ${v.relaxed ? 'relaxed SIMD' : 'SIMD128'}, ${v.threads} thread(s)`, () => {
    const be: CpuBackend = createCpuBackend(v);
    after(() => be.dispose());

    for (const type of kernelTypes()) {
      test(`${typeName(type)} matches the reference`, () => {
        for (const c of cases.filter((k) => k.type === type)) {
          const data = be.allocWeight(c.w.length);
          data.set(c.w);
          const w: WeightTensor = { name: 'w', type: type as WeightTensor['type'], cols: c.cols, rows: c.rows, data };
          const x = tensorFrom(be, c.x);
          const y = be.alloc(c.ref.length, 'f32', 'scratch');
          be.matmul(w, x, c.nTok, y);
          const e = nmse(readNow(be, y), c.ref);
          be.free(x);
          be.free(y);
          assert.ok(e <= NMSE_BOUND[typeName(type)], `${typeName(type)} ${c.rows}x${c.cols}, ${c.nTok} tokens: NMSE ${e}`);
        }
      });
    }

    test('weights outside the wasm memory are staged and give the same result', () => {
      const c = cases.find((k) => k.type === GGMLType.Q4_0 && k.nTok === 17)!;
      const w: WeightTensor = { name: 'w', type: GGMLType.Q4_0, cols: c.cols, rows: c.rows, data: c.w };
      const y = be.alloc(c.ref.length, 'f32', 'scratch');
      be.matmul(w, tensorFrom(be, c.x), c.nTok, y);
      assert.ok(nmse(readNow(be, y), c.ref) <= NMSE_BOUND.Q4_0);
    });

    test('a type without a kernel falls back to the reference matmul exactly', () => {
      const type = GGMLType.Q8_K;
      assert.equal(be.hasKernel(type), false);
      const cols = 512;
      const rows = 5;
      const data = be.allocWeight(randomWeight(type, cols, rows, 99).length);
      data.set(randomWeight(type, cols, rows, 99));
      const w: WeightTensor = { name: 'w', type, cols, rows, data };
      const x = randomFloats(cols * 2, 5);
      const y = be.alloc(rows * 2, 'f32', 'scratch');
      const ref = new Float32Array(rows * 2);
      be.matmul(w, tensorFrom(be, x), 2, y);
      refMatmul(w, x, 2, ref, true);
      assert.deepEqual(readNow(be, y), ref);
    });
  });
}
