// The hyper-parameters of a `clip` mmproj file (general.architecture = "clip"): a vision encoder and the projector
// that turns its patch states into rows of the language model's embedding space. Keys as llama.cpp's
// tools/mtmd/clip-impl.h (clip.vision.*, clip.projector_type, clip.use_gelu / clip.use_silu).

import type { GGUFMetadata } from '../../gguf/metadata.ts';
import { HearthError } from '../../util/errors.ts';

/** Projectors Hearth runs: `mlp` is LLaVA-1.5's two linear layers with a GELU between. */
export const CLIP_PROJECTORS = ['mlp'] as const;
export type ClipProjector = (typeof CLIP_PROJECTORS)[number];

/** The activation of the ViT's feed-forward network: clip.use_gelu, clip.use_silu, else CLIP's quick GELU. */
export type ClipActivation = 'gelu' | 'silu' | 'gelu_quick';

export interface ClipHParams {
  projector: ClipProjector;
  nEmbd: number;
  nFF: number;
  nLayer: number;
  nHead: number;
  headDim: number;
  normEps: number;
  /** The square input the encoder takes, in pixels. */
  imageSize: number;
  patchSize: number;
  /** Per channel (R, G, B), applied to pixel / 255. */
  imageMean: [number, number, number];
  imageStd: [number, number, number];
  activation: ClipActivation;
  /** clip.vision.feature_layer: empty means the layer before the last (llava's default). */
  featureLayers: number[];
  /** Width of the rows the projector gives (the language model's embedding length). */
  nEmbdOut: number;
}

/** (imageSize / patchSize)² patches per image. */
export function clipPatches(hp: ClipHParams): number {
  const side = hp.imageSize / hp.patchSize;
  return side * side;
}

/** The hyper-parameters of an mmproj file, checked. */
export function readClipHParams(m: GGUFMetadata, nEmbdOut: number): ClipHParams {
  const bad = (msg: string) => new HearthError('model_invalid', `${m.source}: ${msg}`);
  const arch = m.getString('general.architecture', '');
  if (arch !== 'clip') throw bad(`general.architecture is "${arch}", not "clip": this is not an mmproj file`);
  if (!m.getBool('clip.has_vision_encoder', false)) throw bad('clip.has_vision_encoder is not set: the file has no vision encoder');
  const projector = m.getString('clip.projector_type', '') || m.getString('clip.vision.projector_type', '');
  if (!(CLIP_PROJECTORS as readonly string[]).includes(projector)) {
    throw new HearthError('unsupported_architecture', `${m.source}: projector type "${projector}" is not supported (Hearth runs ${CLIP_PROJECTORS.join(', ')})`);
  }
  const k = (s: string) => `clip.vision.${s}`;
  const nEmbd = m.getNumber(k('embedding_length'));
  const nHead = m.getNumber(k('attention.head_count'));
  const useGelu = m.getBool('clip.use_gelu', false);
  const useSilu = m.getBool('clip.use_silu', false);
  if (useGelu && useSilu) throw bad('both clip.use_gelu and clip.use_silu are set');
  const triple = (key: string): [number, number, number] => {
    const v = m.getNumbers(k(key), undefined);
    if (!v || v.length < 3) throw bad(`${k(key)} must have 3 values`);
    return [Number(v[0]), Number(v[1]), Number(v[2])];
  };
  const hp: ClipHParams = {
    projector: projector as ClipProjector,
    nEmbd,
    nFF: m.getNumber(k('feed_forward_length')),
    nLayer: m.getNumber(k('block_count')),
    nHead,
    headDim: nEmbd / nHead,
    normEps: m.getNumber(k('attention.layer_norm_epsilon'), 1e-6),
    imageSize: m.getNumber(k('image_size')),
    patchSize: m.getNumber(k('patch_size')),
    imageMean: triple('image_mean'),
    imageStd: triple('image_std'),
    activation: useGelu ? 'gelu' : useSilu ? 'silu' : 'gelu_quick',
    featureLayers: Array.from(m.getNumbers(k('feature_layer'), new Int32Array(0)), Number),
    nEmbdOut,
  };
  for (const [name, v] of Object.entries({ nEmbd, nHead, headDim: hp.headDim, nFF: hp.nFF, nLayer: hp.nLayer, imageSize: hp.imageSize, patchSize: hp.patchSize })) {
    if (!Number.isInteger(v) || v <= 0) throw bad(`hyper-parameter ${name} = ${v} must be a positive integer`);
  }
  if (hp.imageSize % hp.patchSize !== 0) throw bad(`image_size ${hp.imageSize} is not a multiple of patch_size ${hp.patchSize}`);
  if (hp.imageSize > 4096) throw bad(`image_size ${hp.imageSize} is beyond 4096`);
  if (hp.imageStd.some((s) => !(s > 0))) throw bad(`image_std ${hp.imageStd.join(', ')} must be positive`);
  if (hp.featureLayers.some((l) => !Number.isInteger(l) || l < 0 || l > hp.nLayer)) {
    throw bad(`feature_layer ${hp.featureLayers.join(', ')} is outside 0..${hp.nLayer}`);
  }
  return hp;
}
