// The architecture module interface. An architecture is one file (archs/<name>.ts) that registers an
// Architecture: how it reads its hyper-parameters, the tensors it loads (declared once, optional ones marked),
// and how it builds its forward pass from the shared blocks (../blocks.ts). The decoder skeleton (../decoder.ts)
// runs what `build` returns for every backend: batching, positions, KV caches, the output head.

import type { GGUFMetadata } from '../../gguf/metadata.ts';
import type { Backend, Tensor, WeightTensor } from '../../kernels/types.ts';
import type { Activations, AttentionWeights, BatchSegment, BlockDims, FeedForwardWeights, NormWeights } from '../blocks.ts';
import type { DecoderHParams } from '../hparams.ts';
import type { MoeWeights } from '../moe.ts';

/**
 * One tensor of the file: `tensorName(base, suffix, il)`, in the global table or once per layer. A matrix stays
 * packed for matmul / getRows (shape [cols, rows] in ggml order); a vector is decoded to f32 in backend memory
 * (norm weights, biases); a host vector is decoded to f32 on the host (rope frequency factors).
 */
export interface TensorDecl<H> {
  readonly base: string;
  /** Default 'weight'. */
  readonly suffix?: 'weight' | 'bias';
  readonly kind: 'matrix' | 'vector' | 'host';
  /** Expected shape in ggml order, from the hyper-parameters. */
  readonly shape: (hp: H) => readonly number[];
  /** Absent from some files (tied output, optional biases); loading checks the shape when present. */
  readonly optional?: boolean;
  /**
   * A matrix loaded as several: a 3-D shape [cols, rows, n] gives n matrices (a mixture-of-experts' stacked
   * experts), and `split` cuts a 2-D one into consecutive row ranges of these sizes (fused QKV, fused gate-up).
   * Either way the parts are read with `matrices(base)`; each is a view of the file's bytes, nothing is copied.
   */
  readonly split?: (hp: H) => readonly number[];
}

export interface TensorTable<H> {
  readonly global: readonly TensorDecl<H>[];
  readonly layer: readonly TensorDecl<H>[];
}

/**
 * The loaded tensors of one table (global, or one layer), by base name. Asking for a tensor the table does not
 * declare, or of another kind, is an error in the architecture file (HearthError 'internal'); asking for an
 * absent optional tensor with the non-optional accessor is a broken file ('model_invalid').
 */
export interface WeightSet {
  matrix(base: string): WeightTensor;
  optionalMatrix(base: string): WeightTensor | undefined;
  /** The parts of a split or 3-D matrix (see TensorDecl.split). */
  matrices(base: string): readonly WeightTensor[];
  optionalMatrices(base: string): readonly WeightTensor[] | undefined;
  vector(base: string, suffix?: 'weight' | 'bias'): Tensor;
  optionalVector(base: string, suffix?: 'weight' | 'bias'): Tensor | undefined;
  host(base: string, suffix?: 'weight' | 'bias'): Float32Array | undefined;
}

export interface ModelWeights {
  readonly global: WeightSet;
  readonly layers: readonly WeightSet[];
}

/** What one layer of a pass works on: the batch's rows, their positions, the activations. */
export interface LayerPass {
  readonly backend: Backend;
  /** Per sequence: its rows, positions and KV cache; `tokens` tells rows from token ids from given embeddings. */
  readonly segments: readonly BatchSegment[];
  /** positions[r] is row r's position. */
  readonly positions: Int32Array;
  /** Rows in the batch. */
  readonly n: number;
  /** x [n, nEmbd] is the residual stream. */
  readonly s: Activations;
}

/** One layer's weights, as the blocks take them (a family's extra tensors live in its own file's closure). */
export interface LayerWeights {
  readonly attn: AttentionWeights;
  /** The dense feed-forward network; absent where a mixture of experts (`experts`) takes its place. */
  readonly ffn?: FeedForwardWeights;
  readonly experts?: MoeWeights;
}

/** A built model: what the decoder skeleton runs. */
export interface DecoderModel {
  readonly dims: BlockDims;
  readonly nLayer: number;
  readonly nVocab: number;
  /** Rows of token ids come from here (getRows). */
  readonly tokEmbd: WeightTensor;
  /** The output projection (the token embedding when tied). */
  readonly output: WeightTensor;
  readonly tiedOutput: boolean;
  readonly layers: readonly LayerWeights[];
  /** The final norm before the head; absent for post-norm encoders (bert), whose last layer ends normed. */
  readonly outputNorm?: NormWeights;
  /**
   * After the first layer's input is in x (token rows, or embedding rows a caller gave): e.g. gemma scales token
   * rows by sqrt(nEmbd), bert adds learned position rows. Optional.
   */
  input?(p: LayerPass): void;
  /** x = layer il(x), from layers[il] (and whatever else the family keeps). */
  layer(p: LayerPass, il: number): void;
  /**
   * The sliding window of layer il in positions (gemma2/3's local layers: key kpos is visible to qpos iff
   * qpos - kpos < window), undefined for a layer that sees the whole context. Optional: no window anywhere.
   */
  kvWindow?(il: number): number | undefined;
  /** Logits are soft-capped: cap * tanh(logit / cap) (gemma2's final_logit_softcapping). */
  readonly logitSoftcap?: number;
  /**
   * How the hidden states of a sequence become one embedding ({arch}.pooling_type): absent means the file does
   * not say (a decoder: Hearth mean-pools, see engine/embed.ts).
   */
  readonly pooling?: Pooling;
  /** Attention sees the whole sequence (an encoder: every token of an input must be in one pass). */
  readonly bidirectional?: boolean;
  /** A reranker's classification head over the pooled row (pooling 'rank'). */
  readonly classifier?: ClassifierHead;
  /**
   * Layer il's sliding window (llama.cpp n_swa) when its KV cache can be a ring of the last window + batch positions
   * (../kv-cache.ts), or undefined for a layer that attends to the whole context. The layer's attention must then be
   * causal with a window of at most this. Optional: without it (and for a bidirectional model) every layer keeps the
   * whole context.
   */
  kvWindow?(il: number): number | undefined;
}

/** llama.cpp's pooling types (LLAMA_POOLING_TYPE_*: none 0, mean 1, cls 2, last 3, rank 4). */
export type Pooling = 'none' | 'mean' | 'cls' | 'last' | 'rank';
export const POOLING_BY_ID: readonly Pooling[] = ['none', 'mean', 'cls', 'last', 'rank'];

/**
 * score = out(tanh(dense(x) + denseBias)) + outBias over the pooled (first-token) row, as llama.cpp's
 * build_pooling for LLAMA_POOLING_TYPE_RANK (bert rerankers: `cls`, `cls_out`); either layer may be absent.
 */
export interface ClassifierHead {
  readonly dense?: WeightTensor;
  readonly denseBias?: Tensor;
  readonly out?: WeightTensor;
  readonly outBias?: Tensor;
  /** Scores per input: rows of `out` (1 for a reranker), else the width of `dense`. */
  readonly nOut: number;
}

/**
 * What a model is built for, from the load options: `nCtx` is the context each sequence gets (llama.cpp's
 * n_ctx_seq with one sequence), which some families' weights depend on (phi3's LongRoPE picks its frequency
 * factors by it).
 */
export interface BuildOptions {
  readonly nCtx: number;
}

/** An architecture module: `name` is the general.architecture value it handles. */
export interface Architecture<H extends DecoderHParams = DecoderHParams> {
  readonly name: string;
  /** The hyper-parameters from `{name}.*` metadata; nVocab comes from the token embedding (or the tokenizer). */
  readHParams(m: GGUFMetadata, nVocab: number): H;
  readonly tensors: TensorTable<H>;
  /** The forward pass over loaded weights, composed from the blocks (without options: the training context). */
  build(hp: H, w: ModelWeights, o?: BuildOptions): DecoderModel;
}
