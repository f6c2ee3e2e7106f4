// Prompts with images on a local model with a vision encoder: the images of a request decoded and preprocessed here,
// on the serving thread (sharp, then mtmd's resize and normalisation), and the rendered prompt cut at each image
// marker into text tokens around placeholder positions (as mtmd_tokenize: the first text piece takes the
// vocabulary's BOS, later ones none; special tokens parsed). The encoder itself runs in the engine thread.

import { openGGUF } from '../gguf/index.ts';
import { IMAGE_MARKER, type ImageInput } from '../chat/media.ts';
import { decodeImage, type DecodeOptions } from '../engine/vision/decode.ts';
import { preprocessOptions } from '../engine/vision/mmproj.ts';
import { preprocessImage, type PreprocessOptions } from '../engine/vision/preprocess.ts';
import { imagePlaceholders } from '../engine/vision/prompt.ts';
import { clipPatches, readClipHParams } from '../model/vision/clip-hparams.ts';
import type { PromptImage } from '../engine/types.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { HearthError } from '../util/errors.ts';
import type { PromptInput } from '../api/native.ts';
import type { ImageFetcher } from './image-fetch.ts';

export class VisionPrompt {
  readonly nTokens: number;
  readonly preprocess: PreprocessOptions;

  private constructor(nTokens: number, preprocess: PreprocessOptions) {
    this.nTokens = nTokens;
    this.preprocess = preprocess;
  }

  /** The encoder's facts from the mmproj's header (no weights are read). */
  static open(mmproj: string, nEmbd: number): VisionPrompt {
    const f = openGGUF(mmproj);
    try {
      const hp = readClipHParams(f.metadata, nEmbd);
      return new VisionPrompt(clipPatches(hp), preprocessOptions(hp));
    } finally {
      f.close();
    }
  }

  /** Every image of a prompt input fetched (URLs: only with a fetcher), decoded and preprocessed, in order. */
  async pixels(images: readonly ImageInput[], o: DecodeOptions & { fetch?: ImageFetcher } = {}): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (const img of images) {
      let data = img.data;
      if (data === undefined) {
        if (!o.fetch) throw new HearthError('unsupported_field', `image URL ${img.url}: this server fetches no image URLs (send a data URL or base64; the server's --allow-image-urls allows public http(s) URLs)`);
        data = await o.fetch(img.url!);
      }
      out.push(preprocessImage(await decodeImage(data, o), this.preprocess));
    }
    return out;
  }

  /** Prompt ids and image positions for a rendered prompt whose markers stand for `pixels`, in order. */
  tokens(tok: Tokenizer, rendered: string, pixels: readonly Float32Array[], addBos: boolean): { prompt: number[]; images: PromptImage[] } {
    const pieces = rendered.split(IMAGE_MARKER);
    if (pieces.length - 1 !== pixels.length) {
      throw new HearthError('invalid_argument', `the prompt has ${pieces.length - 1} image markers (${IMAGE_MARKER}) for ${pixels.length} images`);
    }
    const prompt: number[] = [];
    const images: PromptImage[] = [];
    pieces.forEach((text, i) => {
      if (text.length > 0 || i === 0) prompt.push(...tok.encode(text, { parseSpecial: true, addBos: i === 0 && addBos }));
      if (i < pixels.length) {
        images.push({ pos: prompt.length, pixels: pixels[i] });
        prompt.push(...imagePlaceholders(pixels[i], this.nTokens, tok.vocabSize));
      }
    });
    return { prompt, images };
  }
}

/** The images of a prompt input, in order (chat: every message's). */
export function promptImages(input: PromptInput): ImageInput[] {
  if (input.kind === 'chat') return input.messages.flatMap((m) => m.images ?? []);
  if (input.kind === 'text') return input.images ?? [];
  return [];
}
