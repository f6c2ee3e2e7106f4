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
