// Bad images are invalid_image errors with a message, decided before pixels are allocated where the header tells.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, deflateSync } from 'node:zlib';
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

/** A PNG whose header says w x h over a few bytes of image data (what a decompression bomb's header looks like). */
function pngHeaderOnly(w: number, h: number): Uint8Array {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return new Uint8Array(Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(1024))), chunk('IEND', Buffer.alloc(0)),
  ]));
}

test('a decompression bomb (a PNG claiming 30000 x 30000) is refused from its header, nothing allocated', async () => {
  const bomb = pngHeaderOnly(30000, 30000);
  const before = process.memoryUsage().rss;
  await assert.rejects(decodeImage(bomb), invalid(/30000×30000 = 900000000 pixels, more than the limit/));
  assert.ok(process.memoryUsage().rss - before < 256 << 20, 'the pixels were not allocated');
});
