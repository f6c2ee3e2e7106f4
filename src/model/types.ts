// The model layer's interface types: what engine/ and above import from model/, in one place.

export type { DecoderHParams } from './hparams.ts';
export type { KVCache } from './kv-cache.ts';
export type { Architecture, DecoderModel, Pooling, TensorDecl, TensorTable } from './archs/types.ts';
export type { DecoderForward, Segment } from './decoder.ts';
export type { TensorSource } from './weights.ts';
