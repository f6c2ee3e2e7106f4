import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDimensions, shortenEmbedding, shortenEmbeddings } from './embedding-dimensions.ts';

test('shortened embeddings are the first components at unit length', () => {
  const v = Float32Array.from([3, 4, 12, 0]);
  assert.deepEqual(shortenEmbedding(v, 2), Float32Array.from([0.6, 0.8]));
  const [a] = shortenEmbeddings([Float32Array.from([0.1, -0.2, 0.3, 0.4, 0.5])], 3);
  assert.equal(a.length, 3);
  assert.ok(Math.abs(Math.hypot(...a) - 1) < 1e-6);
  // same direction as the cut vector
  assert.ok(Math.abs(a[1] / a[0] - -2) < 1e-6 && Math.abs(a[2] / a[0] - 3) < 1e-6);
  assert.deepEqual(Array.from(shortenEmbedding(new Float32Array(4), 2)), [0, 0]);
  assert.equal(shortenEmbeddings([v], undefined)[0], v);
  assert.equal(shortenEmbeddings([v], 4)[0].length, 4);
});

test('dimensions outside 1..width are refused, naming the width', () => {
  checkDimensions(undefined, 8);
  checkDimensions(8, 8);
  assert.throws(() => checkDimensions(9, 8), /dimensions must be an integer from 1 to 8 \(this model's embedding width\); got 9/);
  assert.throws(() => checkDimensions(0, 8), /from 1 to 8/);
  assert.throws(() => shortenEmbeddings([new Float32Array(4)], 5), /from 1 to 4/);
});
