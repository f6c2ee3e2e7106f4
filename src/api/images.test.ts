// Images as the gateway's dialect encoders send them upstream: OpenAI image_url parts (data URLs, URLs kept), Anthropic
// image blocks (base64 with the bytes' media type, or a url source), Ollama's images beside the text; and the text cut
// at the image markers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentParts, IMAGE_MARKER, imageMediaType } from './images.ts';
import { openaiUpstreamBody } from './openai/upstream.ts';
import { anthropicUpstreamBody } from './anthropic/upstream.ts';
import { ollamaUpstreamBody } from './ollama/upstream.ts';
import type { NativeRequest } from './native.ts';
import type { ImageInput } from '../chat/media.ts';

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 9, 9]);
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const t = { provider: 'up', type: 'hearth' };

function request(content: string, images: ImageInput[]): NativeRequest {
  return { model: 'm', prompts: [{ kind: 'chat', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content, images }] }], n: 1, sampling: {}, stop: [], stream: false };
}

test('media types from magic numbers', () => {
  assert.equal(imageMediaType(PNG), 'image/png');
  assert.equal(imageMediaType(JPEG), 'image/jpeg');
  assert.equal(imageMediaType(new TextEncoder().encode('GIF89a....')), 'image/gif');
  assert.equal(imageMediaType(new TextEncoder().encode('RIFF\0\0\0\0WEBPVP8 ')), 'image/webp');
  assert.equal(imageMediaType(new TextEncoder().encode('not an image')), 'application/octet-stream');
});

test('contentParts cuts at the markers, in order; images without a marker go after the text', () => {
  const a = { data: PNG };
  const b = { url: 'https://example.com/b.jpg' };
  assert.deepEqual(contentParts(`${IMAGE_MARKER}\nWhat? ${IMAGE_MARKER} and`, [a, b]), [{ image: a }, { text: '\nWhat? ' }, { image: b }, { text: ' and' }]);
  assert.deepEqual(contentParts('no marker', [a]), [{ text: 'no marker' }, { image: a }]);
  assert.deepEqual(contentParts('plain', undefined), [{ text: 'plain' }]);
});

test('openai: image_url parts with data URLs (URLs as they came) at the images\' places', () => {
  const body = openaiUpstreamBody(request(`${IMAGE_MARKER}\nWhat is it?${IMAGE_MARKER}`, [{ data: PNG }, { url: 'https://example.com/x.jpg' }]), 'm', t, { extensions: true });
  const messages = body.messages as { role: string; content: unknown }[];
  assert.equal(messages[0]!.content, 'Be brief.');
  assert.deepEqual(messages[1]!.content, [
    { type: 'image_url', image_url: { url: `data:image/png;base64,${b64(PNG)}` } },
    { type: 'text', text: '\nWhat is it?' },
    { type: 'image_url', image_url: { url: 'https://example.com/x.jpg' } },
  ]);
});

test('anthropic: image blocks with base64 sources and their media type, or url sources', () => {
  const body = anthropicUpstreamBody(request(`${IMAGE_MARKER}\nWhat is it?`, [{ data: JPEG }]), 'm', t);
  assert.equal(body.system, 'Be brief.');
  assert.deepEqual((body.messages as { content: unknown }[])[0]!.content, [
    { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: b64(JPEG) } },
    { type: 'text', text: '\nWhat is it?' },
  ]);
  const url = anthropicUpstreamBody(request(`${IMAGE_MARKER}hi`, [{ url: 'https://example.com/x.jpg' }]), 'm', t);
  assert.deepEqual((url.messages as { content: unknown[] }[])[0]!.content[0], { type: 'image', source: { type: 'url', url: 'https://example.com/x.jpg' } });
});

test('ollama: images beside the text, the markers taken out; an image URL is a 400 naming images', () => {
  const body = ollamaUpstreamBody(request(`${IMAGE_MARKER}\n${IMAGE_MARKER}\nWhat are they?`, [{ data: PNG }, { data: JPEG }]), 'm', t);
  const m = (body.messages as Record<string, unknown>[])[1]!;
  assert.equal(m.content, 'What are they?');
  assert.deepEqual(m.images, [b64(PNG), b64(JPEG)]);
  assert.throws(() => ollamaUpstreamBody(request(`${IMAGE_MARKER}x`, [{ url: 'https://example.com/x.jpg' }]), 'm', t), /images: provider "up" \(hearth\) has no image URLs/);
});
