// Our K-quant codecs against ggml's: the bytes of quantize_row_*_ref and the floats of dequantize_row_*,
// as SHA-256 recorded in golden.json by make-golden.ts (which runs llama.cpp's own libggml-base.so).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GGMLType, dequantizeTensor, quantizeTensor } from '../../../src/quant/index.ts';
import { GOLDEN_INPUTS } from './inputs.ts';

interface GoldenEntry { n: number; input: string; quantized: Record<string, string>; dequantized: Record<string, string> }
const golden = JSON.parse(readFileSync(new URL('./golden.json', import.meta.url), 'utf8')) as {
  inputs: Record<string, GoldenEntry>;
};
const TYPES = ['Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'Q8_K'] as const;
const sha256 = (b: ArrayBufferView): string =>
  createHash('sha256').update(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)).digest('hex');

test('golden inputs are regenerated bit for bit', () => {
  assert.deepEqual(Object.keys(GOLDEN_INPUTS).sort(), Object.keys(golden.inputs).sort());
  for (const [name, make] of Object.entries(GOLDEN_INPUTS)) {
    const x = make();
    assert.equal(x.length, golden.inputs[name].n, name);
    assert.equal(sha256(x), golden.inputs[name].input, `input ${name} differs from the one ggml was run on`);
  }
});

for (const type of TYPES) {
  test(`${type}: quantized bytes and decoded floats equal ggml's on every golden input`, () => {
    for (const [name, make] of Object.entries(GOLDEN_INPUTS)) {
      const x = make();
      const q = quantizeTensor(GGMLType[type], x, x.length);
      assert.equal(sha256(q), golden.inputs[name].quantized[type], `${type} bytes differ from ggml on input ${name}`);
      const y = dequantizeTensor(GGMLType[type], q, x.length);
      assert.equal(sha256(y), golden.inputs[name].dequantized[type], `${type} decode differs from ggml on input ${name}`);
    }
  });
}
