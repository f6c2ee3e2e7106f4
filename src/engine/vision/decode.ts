// Image bytes → 8-bit RGB through sharp (libvips): JPEG, PNG, WebP, GIF (first frame), TIFF, AVIF/HEIF where libvips
// has it. As mtmd's stb_image loader: grayscale is spread to three channels and an alpha channel is dropped, not
// composited. A pixel limit is checked from the header before any pixel is decoded (a decompression bomb is refused
// without allocating it), and truncated or unknown data is an `invalid_image` error.

import sharp, { type Metadata } from 'sharp';
import { HearthError } from '../../util/errors.ts';
import type { RgbImage } from './preprocess.ts';

/** Formats Hearth accepts (sharp's names). */
export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif', 'avif'] as const;

export interface DecodedImage extends RgbImage {
  readonly format: string;
}

export interface DecodeOptions {
  /** Most pixels an image may have (default 50 megapixels). */
  maxPixels?: number;
}

export const DEFAULT_MAX_IMAGE_PIXELS = 50_000_000;

/** Decodes one image to RGB; every failure is a HearthError('invalid_image') with a message for the client. */
export async function decodeImage(bytes: Uint8Array, o: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = o.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  if (bytes.length === 0) throw new HearthError('invalid_image', 'the image is empty');
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false, failOn: 'error' }).metadata();
  } catch (e) {
    throw new HearthError('invalid_image', `the data is not an image Hearth can read (${(e as Error).message})`, { cause: e });
  }
  const format = meta.format ?? 'unknown';
  if (!(IMAGE_FORMATS as readonly string[]).includes(format)) {
    throw new HearthError('invalid_image', `image format ${format} is not supported (use ${IMAGE_FORMATS.join(', ')})`);
  }
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (!(width > 0 && height > 0)) throw new HearthError('invalid_image', 'the image has no size');
  if (width * height > maxPixels) {
    throw new HearthError('invalid_image', `the image is ${width}×${height} = ${width * height} pixels, more than the limit of ${maxPixels}`);
  }
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error', pages: 1, page: 0 })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`${info.channels} channels after conversion`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), format };
  } catch (e) {
    throw new HearthError('invalid_image', `the image could not be decoded (${(e as Error).message})`, { cause: e });
  }
}
