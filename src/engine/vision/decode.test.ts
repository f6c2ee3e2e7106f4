// Bad images are invalid_image errors with a message, decided before pixels are allocated where the header tells.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pngHeaderOnly } from '../../../test/fixtures/png.ts';
import sharp from 'sharp';
import { decodeImage } from './decode.ts';
import { isHearthError } from '../../util/errors.ts';

const rgba = async (w: number, h: number, format: 'png' | 'jpeg' | 'webp' | 'gif') => {
  const px = Buffer.alloc(w * h * 4, 200);
  return new Uint8Array(await sharp(px, { raw: { width: w, height: h, channels: 4 } }).toFormat(format).toBuffer());
};

const invalid = (pattern: RegExp) => (e: unknown) => isHearthError(e, 'invalid_image') && pattern.test((e as Error).message);

test('PNG, JPEG, WebP and GIF decode to RGB; alpha is dropped; grayscale becomes three channels', async () => {
  for (const format of ['png', 'jpeg', 'webp', 'gif'] as const) {
    const img = await decodeImage(await rgba(5, 3, format));
    assert.equal(img.width, 5);
    assert.equal(img.height, 3);
    assert.equal(img.data.length, 5 * 3 * 3);
    assert.equal(img.format, format);
  }
  const gray = await sharp(Buffer.alloc(6, 90), { raw: { width: 3, height: 2, channels: 1 } }).png().toBuffer();
  const g = await decodeImage(gray);
  assert.deepEqual([...g.data.subarray(0, 3)], [90, 90, 90]);
});

test('not an image, empty, truncated, unsupported and over the pixel limit are invalid_image', async () => {
  await assert.rejects(decodeImage(new TextEncoder().encode('hello, this is text')), invalid(/not an image/));
  await assert.rejects(decodeImage(new Uint8Array(0)), invalid(/empty/));
  const png = await rgba(64, 64, 'png');
  await assert.rejects(decodeImage(png.subarray(0, png.length / 2)), invalid(/./));
  const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>');
  await assert.rejects(decodeImage(svg), invalid(/not supported|not an image/));
  await assert.rejects(decodeImage(png, { maxPixels: 64 * 63 }), invalid(/more than the limit/));
});

test('a decompression bomb (a PNG claiming 30000 x 30000) is refused from its header, nothing allocated', async () => {
  const bomb = pngHeaderOnly(30000, 30000);
  const before = process.memoryUsage().rss;
  await assert.rejects(decodeImage(bomb), invalid(/30000×30000 = 900000000 pixels, more than the limit/));
  assert.ok(process.memoryUsage().rss - before < 256 << 20, 'the pixels were not allocated');
});
