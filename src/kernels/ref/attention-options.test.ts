// Mask semantics of the reference attention's options on tiny inputs checkable by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attention } from './attention.ts';
import { visible } from './attention-options.ts';
import { softcapOne } from './scale.ts';

const shape = { nHead: 1, nHeadKv: 1, headDim: 1, scale: 1, f16: false };
// 4 positions, head dim 1: keys all 0 (uniform weights over what is visible), value of position p is 10^p
const k = new Float32Array(4);
const v = Float32Array.from([1, 10, 100, 1000]);
const q = new Float32Array(4);

function run(opts: Parameters<typeof attention>[7]): number[] {
  const out = new Float32Array(4);
  attention(q, k, v, 4, 0, shape, out, opts);
  return [...out].map((x) => Math.round(x * 1e4) / 1e4);
}

test('visible(): causal, non-causal, and the standard sliding window (qpos - kpos < window)', () => {
  assert.equal(visible(2, 3), false);
  assert.equal(visible(2, 2), true);
  assert.equal(visible(2, 3, { causal: false }), true);
  assert.equal(visible(5, 3, { window: 2 }), false); // 5 - 3 = 2 is not < 2
  assert.equal(visible(5, 4, { window: 2 }), true);
  assert.equal(visible(1, 3, { causal: false, window: 2 }), true); // a later key: 1 - 3 < 2
});

test('causal: token t averages positions 0..t', () => {
  assert.deepEqual(run({}), [1, 5.5, 37, 277.75]);
});

test('non-causal: every token averages all four positions', () => {
  assert.deepEqual(run({ causal: false }), [277.75, 277.75, 277.75, 277.75]);
});

test('window 2: token t averages positions t-1 and t', () => {
  assert.deepEqual(run({ window: 2 }), [1, 5.5, 55, 550]);
  assert.deepEqual(run({ window: 1 }), [1, 10, 100, 1000]);
});

test('non-causal with window 2: positions with qpos - kpos < 2, later ones included', () => {
  // t=0: all (0-p < 2 for every p); t=1: all; t=2: p >= 1; t=3: p >= 2
  assert.deepEqual(run({ causal: false, window: 2 }), [277.75, 277.75, 370, 550]);
});

test('softcap bounds the scores before the softmax', () => {
  // two positions with scores 0 and 100: uncapped the second takes all weight; capped at 1 the weights are
  // softmax(0, tanh(100)) = softmax(0, 1)
  const out = new Float32Array(2);
  attention(Float32Array.from([1, 1]), Float32Array.from([0, 100]), Float32Array.from([0, 1]), 2, 0, shape, out, { softcap: 1 });
  const w = Math.exp(softcapOne(100, 1)) / (1 + Math.exp(softcapOne(100, 1)));
  assert.ok(Math.abs(out[1] - w) < 1e-6, `${out[1]} vs ${w}`);
});
