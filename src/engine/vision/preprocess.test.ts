import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitSquare, normalizeRgb, resizeRgb, type RgbImage } from './preprocess.ts';

function solid(w: number, h: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(rgb, i * 3);
  return { width: w, height: h, data };
}

for (const filter of ['bilinear', 'bicubic', 'lanczos', 'point-bilinear', 'point-bicubic'] as const) {
  test(`${filter}: a solid image stays solid at any size`, () => {
    for (const [w, h, W, H] of [[7, 5, 56, 56], [640, 488, 56, 43], [3, 9, 4, 2]]) {
      const out = resizeRgb(solid(w, h, [10, 200, 77]), W, H, filter);
      assert.equal(out.data.length, W * H * 3);
      for (let i = 0; i < W * H; i++) assert.deepEqual([...out.data.subarray(i * 3, i * 3 + 3)], [10, 200, 77], `${w}x${h}->${W}x${H} pixel ${i}`);
    }
  });
}

test('fitSquare keeps the aspect, centres the image and pads with the colour (mtmd PAD_CEIL)', () => {
  const out = fitSquare(solid(70, 45, [255, 0, 0]), 56, 'bicubic', 'ceil', [122, 116, 104]);
  // 70x45 scaled by 0.8 is 56x36, at rows 10..45
  const px = (x: number, y: number) => [...out.data.subarray((y * 56 + x) * 3, (y * 56 + x) * 3 + 3)];
  assert.deepEqual(px(0, 9), [122, 116, 104]);
  assert.deepEqual(px(0, 10), [255, 0, 0]);
  assert.deepEqual(px(55, 45), [255, 0, 0]);
  assert.deepEqual(px(30, 46), [122, 116, 104]);
  // a tall one: 33x61 -> ceil(33 * 56/61) = 31 wide, at columns 12..42
  const tall = fitSquare(solid(33, 61, [0, 0, 255]), 56, 'bicubic', 'ceil', [1, 2, 3]);
  const t = (x: number, y: number) => [...tall.data.subarray((y * 56 + x) * 3, (y * 56 + x) * 3 + 3)];
  assert.deepEqual(t(11, 20), [1, 2, 3]);
  assert.deepEqual(t(12, 20), [0, 0, 255]);
  assert.deepEqual(t(42, 20), [0, 0, 255]);
  assert.deepEqual(t(43, 20), [1, 2, 3]);
});

test('normalizeRgb is planar (pixel / 255 - mean) / std', () => {
  const img: RgbImage = { width: 2, height: 1, data: Uint8Array.of(255, 0, 51, 0, 255, 102) };
  const out = normalizeRgb(img, [0.5, 0.5, 0.5], [0.5, 0.25, 1]);
  assert.deepEqual([...out].map((v) => Math.round(v * 1e4) / 1e4), [1, -1, -2, 2, -0.3, -0.1]);
});
