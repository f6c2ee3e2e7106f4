// Loads an mmproj file (a `clip` GGUF: vision encoder + projector) beside a language model, into the language
// model's backend, and turns image bytes into the rows that enter the model at the image marker.

import { openGGUFModel } from '../../gguf/split.ts';
import type { Backend } from '../../kernels/types.ts';
import { ClipEncoder } from '../../model/vision/clip.ts';
import { readClipHParams, type ClipHParams } from '../../model/vision/clip-hparams.ts';
import { fileTensorSource } from '../tensor-source.ts';
import { decodeImage, type DecodeOptions } from './decode.ts';
import { preprocessImage, type PreprocessOptions, type ResizeFilter, type RgbImage } from './preprocess.ts';

/** One image as the language model takes it. */
export interface ImageEmbedding {
  /** [nTokens, nEmbd] rows. */
  readonly rows: Float32Array;
  readonly nTokens: number;
  /** The decoded image's size and format (before resizing). */
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly encodeMs: number;
}

/**
 * mtmd's preprocessing for a projector: llava's mlp fits the image into the square (aspect kept) on LLaVA's
 * grey-brown pad, bicubic. The filter defaults to img_tool's point-sampled bicubic, what the llama.cpp of the
 * reference package (llama.node 1.7.15, build 10257) does; llama.cpp since ported Pillow's resampling ('bicubic').
 */
export function preprocessOptions(hp: ClipHParams, filter: ResizeFilter = 'point-bicubic'): PreprocessOptions {
  return {
    size: hp.imageSize,
    filter,
    pad: 'ceil',
    padColor: [122, 116, 104],
    mean: hp.imageMean,
    std: hp.imageStd,
  };
}

export class VisionModel {
  readonly path: string;
  readonly encoder: ClipEncoder;
  readonly hp: ClipHParams;
  readonly preprocess: PreprocessOptions;

  private constructor(path: string, encoder: ClipEncoder, filter?: ResizeFilter) {
    this.path = path;
    this.encoder = encoder;
    this.hp = encoder.hp;
    this.preprocess = preprocessOptions(encoder.hp, filter);
  }

  /** Loads the mmproj at `path` into `backend`; `nEmbdOut` is the language model's embedding length. */
  static load(path: string, nEmbdOut: number, backend: Backend, o: { resize?: ResizeFilter } = {}): VisionModel {
    const file = openGGUFModel(path);
    try {
      const hp = readClipHParams(file.metadata, nEmbdOut);
      return new VisionModel(path, new ClipEncoder(fileTensorSource(file, backend), hp, backend), o.resize);
    } finally {
      file.close();
    }
  }

  /** Rows per image. */
  get nTokens(): number {
    return this.encoder.nTokens;
  }

  /** Encodes decoded pixels. */
  async encodeRgb(img: RgbImage): Promise<Float32Array> {
    const pixels = preprocessImage(img, this.preprocess);
    return this.encoder.encodeAsync(pixels);
  }

  /** Decodes and encodes image bytes (invalid_image for anything that is not a readable image). */
  async encodeImage(bytes: Uint8Array, o: DecodeOptions = {}): Promise<ImageEmbedding> {
    const img = await decodeImage(bytes, o);
    const t0 = performance.now();
    const rows = await this.encodeRgb(img);
    return { rows, nTokens: this.nTokens, width: img.width, height: img.height, format: img.format, encodeMs: performance.now() - t0 };
  }
}
