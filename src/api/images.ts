// Images in requests, as the dialects send them: base64 (Ollama's `images`, Anthropic's base64 source) or a data URL
// (OpenAI's image_url). The bytes are checked to be base64 here; whether they are an image is the decoder's call.
// http(s) URLs pass as URLs: the provider fetches them only where the server allows it (--allow-image-urls).

import { IMAGE_MARKER, type ImageInput } from '../chat/media.ts';
import { FieldError } from './validate.ts';

export { IMAGE_MARKER };

function isBase64(s: string): boolean {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 61 /* = */ && s.length - end < 2) end--;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 45 || c === 95 ||
      c === 10 || c === 13;
    if (!ok) return false;
  }
  return true;
}

/** Base64 image bytes (standard or URL-safe alphabet; line breaks allowed). */
export function imageFromBase64(field: string, b64: string): ImageInput {
  const s = b64.trim();
  if (s.length === 0) throw new FieldError(field, `${field} is empty: it must be a base64-encoded image`);
  if (!isBase64(s)) throw new FieldError(field, `${field} is not base64 (send the image's bytes base64-encoded, without a data: prefix here)`);
  return { data: new Uint8Array(Buffer.from(s, 'base64')) };
}

/** `data:image/...;base64,...`, or an http(s) URL (fetched only where the server allows image URLs). */
export function imageFromUrl(field: string, url: string): ImageInput {
  if (url.startsWith('data:')) {
    const comma = url.indexOf(',');
    const head = comma < 0 ? '' : url.slice(5, comma);
    if (comma < 0 || !head.endsWith(';base64')) throw new FieldError(field, `${field}: a data URL must be data:<type>;base64,<data>`);
    return imageFromBase64(field, url.slice(comma + 1));
  }
  if (/^https?:\/\//i.test(url)) return { url };
  throw new FieldError(field, `${field} must be a data URL (data:image/png;base64,...) or an http(s) URL`);
}

/** The media type of encoded image bytes, from their magic numbers (what a data URL or an Anthropic block names). */
export function imageMediaType(b: Uint8Array): string {
  const at = (i: number, ...xs: number[]) => xs.every((x, j) => b[i + j] === x);
  if (at(0, 0x89, 0x50, 0x4e, 0x47)) return 'image/png';
  if (at(0, 0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (at(0, 0x47, 0x49, 0x46, 0x38)) return 'image/gif';
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return 'image/webp';
  if (at(4, 0x66, 0x74, 0x79, 0x70)) return at(8, 0x61, 0x76, 0x69, 0x66) ? 'image/avif' : 'image/heic';
  if (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a)) return 'image/tiff';
  return 'application/octet-stream';
}

/** A message's text cut at its image markers: text pieces and images in order (empty text pieces left out). */
export function contentParts(content: string, images: readonly ImageInput[] | undefined): ({ text: string } | { image: ImageInput })[] {
  if (!images?.length) return content ? [{ text: content }] : [];
  const pieces = content.split(IMAGE_MARKER);
  const out: ({ text: string } | { image: ImageInput })[] = [];
  pieces.forEach((text, i) => {
    if (text) out.push({ text });
    if (i < pieces.length - 1 && images[i]) out.push({ image: images[i] });
  });
  // images the text has no marker for go after it, as a dialect without markers would place them
  for (const img of images.slice(pieces.length - 1)) out.push({ image: img });
  return out;
}
