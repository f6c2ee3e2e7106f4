// The JSON protocol between tests/benchmarks and llama-cpp.ts, the process that runs llama.cpp
// (through node-llama-cpp). Types only, so importing it never loads node-llama-cpp.

/** Load-time options: one model and one context per process, shared by every op of a request. */
export interface ReferenceLoad {
  /** Path of the GGUF file. */
  model: string;
  /** CPU threads for evaluation (default 1). */
  threads?: number;
  /** Context size in tokens (default 1024). Prompt + generated tokens must fit; nothing is shifted. */
  nCtx?: number;
  /** Logical batch size for prompt processing (default min(nCtx, 512)). */
  nBatch?: number;
  /** llama.cpp's flash-attention path (default false: the plain softmax(QK^T)V graph). */
  flashAttention?: boolean;
  /** KV cache element type (default 'f16', llama.cpp's default; 'f32' is closer to an f32 engine). */
  kvType?: 'f16' | 'f32';
  /**
   * Load the vocabulary only: no weights, no context (default false). Needed for the vocab-only GGUFs
   * in ../shared/vocab; only tokenize, detokenize and tokenizeBench ops can run.
   */
  vocabOnly?: boolean;
  /**
   * Which llama.cpp context to open (default 'generate', for eval/bench):
   *  - 'embedding': node-llama-cpp's createEmbeddingContext, a context with `embeddings = true` and the
   *    pooling type left unspecified, so llama.cpp pools as the model's `{arch}.pooling_type` says (NONE when
   *    the key is absent); info.poolingType reports it. Only embed (and tokenize/detokenize) ops run.
   *  - 'ranking': createRankingContext, the same with `pooling_type = RANK` forced by node-llama-cpp's
   *    addon, whatever the file says. Only rank (and tokenize/detokenize) ops run. node-llama-cpp refuses
   *    models without a `cls.weight` or `cls.output.weight` tensor, or with neither an EOS nor a SEP token
   *    (and no `tokenizer.chat_template.rerank`).
   * For both, nCtx defaults to min(1024, {arch}.context_length) and nBatch to nCtx: an encoder without a
   * KV cache (BERT) runs llama_encode, which needs the whole input in one ubatch, and node-llama-cpp sets
   * n_ubatch = n_batch. Those two node-llama-cpp factories take no flash-attention or KV-type option:
   * flashAttention (default false: K and V stay f32, as an f32 engine's) becomes the model's default context
   * setting, which they follow; kvType is not passed on (an encoder has no KV cache).
   */
  context?: ReferenceContextKind;
}

export type ReferenceContextKind = 'generate' | 'embedding' | 'ranking';

/** llama_pooling_type, by name: NONE 0, MEAN 1, CLS 2, LAST 3, RANK 4. */
export type ReferencePoolingType = 'none' | 'mean' | 'cls' | 'last' | 'rank';

/**
 * Evaluate a prompt and continue it greedily.
 * `tokens` is the exact input, BOS included if wanted. greedy[k] = argmax(logits[k]) where logits[0] are
 * the logits at the last prompt position and logits[k] those after feeding greedy[0..k-1].
 */
export interface EvalOp {
  op: 'eval';
  tokens: number[];
  /** Greedy tokens to generate (default 0: logits only). */
  nPredict?: number;
  /** How many steps' logits to return (default 1: the last prompt position only). */
  logitSteps?: number;
  /** Stop after an end-of-generation token (it is included in greedy). Default false. */
  stopAtEog?: boolean;
}

export interface TokenizeOp {
  op: 'tokenize';
  text: string;
  /** Prepend the model's BOS token (default false). llama.cpp's own add_special flag is info.addBos. */
  addBos?: boolean;
  /** Turn special-token text such as "<s>" into its id (llama.cpp parse_special; default false). */
  parseSpecial?: boolean;
}

export interface DetokenizeOp {
  op: 'detokenize';
  tokens: number[];
  /** Render special tokens as their text (llama.cpp unparse_special; default false). */
  renderSpecial?: boolean;
}

/** Time prompt processing of nPrompt tokens and greedy decoding of nGen tokens, best of reps runs. */
export interface BenchOp {
  op: 'bench';
  nPrompt: number;
  nGen: number;
  reps?: number;
}

/**
 * Time llama.cpp's tokenizer on a text file: one cold call, then the best of `reps` more. Only the
 * tokenize call is timed (the file is read and the model loaded before the clock starts).
 */
export interface TokenizeBenchOp {
  op: 'tokenizeBench';
  /** Path of a UTF-8 text file. */
  file: string;
  /** Timed calls after the cold one (default 3). */
  reps?: number;
  parseSpecial?: boolean;
  /** Return the ids of the last call (default false). */
  returnTokens?: boolean;
}

/**
 * One embedding from an 'embedding' context: exactly one of `tokens` or `text`.
 * `text` is tokenized as node-llama-cpp's getEmbeddingFor does (llama.cpp common_tokenize with
 * add_special = false, parse_special = false). Then, with addSpecial (the default), node-llama-cpp's own
 * rule adds special tokens: the beginning token is prepended unless the input already starts with it, and
 * the end token appended unless it already ends with it. For a WPM (BERT) vocabulary these are BOS ([CLS],
 * 101 in BERT vocabularies) and SEP ([SEP], 102); for UGM, EOS is appended and nothing prepended; for
 * SPM/BPE, BOS and EOS as tokenizer.ggml.add_bos_token / add_eos_token say. So ids that already start with
 * [CLS] and end with [SEP] are evaluated as given. With addSpecial: false the ids are evaluated exactly as
 * given (through node-llama-cpp internals, the same evaluation path getEmbeddingFor takes). The result's
 * `tokens` are the ids evaluated.
 */
export interface EmbedOp {
  op: 'embed';
  tokens?: number[];
  text?: string;
  addSpecial?: boolean;
}

/**
 * Relevance scores of documents for a query, from a 'ranking' context. Query and each document are
 * tokenized with node-llama-cpp's "trimLeadingSpace" tokenization (no special tokens parsed) and joined as
 * node-llama-cpp's LlamaRankingContext does when the model has no tokenizer.chat_template.rerank:
 *   [BOS] query [EOS] [SEP] document [EOS]
 * each special token present only if the model defines it. For a BERT vocabulary (BOS = [CLS], no EOS)
 * that is [CLS] query [SEP] document, the same as llama-server's format_prompt_rerank for BERT (no
 * trailing [SEP]). The result's `tokens` are the ids evaluated, per document. Documents too long for the
 * context fail (no chunking).
 */
export interface RankOp {
  op: 'rank';
  query: string;
  documents: string[];
}

/**
 * Time an 'embedding' context on token-id inputs (evaluated exactly as given, as embed with addSpecial false):
 * one untimed warm-up of the first input, then `reps` rounds (default 1) of every input one after another
 * (node-llama-cpp's embedding context has one sequence); the fastest round is reported.
 */
export interface EmbedBenchOp {
  op: 'embedBench';
  inputs: number[][];
  reps?: number;
}

/**
 * Generate with llama.cpp's own sampler chain, as node-llama-cpp's LlamaContextSequence.evaluate builds it (logit
 * bias → penalties → DRY → top-k → top-p → min-p → XTC → temperature → dist, or greedy at temperature 0; one sampler
 * for the whole generation, which accepts the generated tokens only), from a fresh sequence. `options` are that
 * method's: temperature, topK, topP, minP, seed, xtc {probability, threshold}, dryRepeatPenalty {strength, base,
 * allowedLength, lastTokens, sequenceBreakers}. The result also has the raw logits of every step, evaluated again
 * teacher-forced over prompt + generated tokens (so a sampler can be replayed on them).
 */
export interface SampleOp {
  op: 'sample';
  tokens: number[];
  nPredict: number;
  options: Record<string, unknown>;
}

export type ReferenceOp = SampleOp | EvalOp | TokenizeOp | DetokenizeOp | BenchOp | TokenizeBenchOp | EmbedOp | RankOp | EmbedBenchOp;

export interface ReferenceRequest extends ReferenceLoad {
  ops: ReferenceOp[];
}

export interface EvalResult {
  op: 'eval';
  nVocab: number;
  /** Per step, base64 of a little-endian Float32Array[nVocab] of raw logits (before any sampler). */
  logits: string[];
  greedy: number[];
}

export interface SampleResult {
  op: 'sample';
  /** The sampled tokens (an end-of-generation token ends them and is included). */
  tokens: number[];
  /** Per sampled token, base64 of a little-endian Float32Array[nVocab] of the raw logits it was drawn from. */
  logits: string[];
}

export interface TokenizeResult { op: 'tokenize'; tokens: number[] }
export interface DetokenizeResult { op: 'detokenize'; text: string }

export interface BenchResult {
  op: 'bench';
  nPrompt: number;
  nGen: number;
  threads: number;
  /** Best wall time of the prompt pass (one logits row requested) and of the nGen greedy steps. */
  prefillMs: number;
  decodeMs: number;
  prefillTokensPerS: number;
  decodeTokensPerS: number;
}

export interface TokenizeBenchResult {
  op: 'tokenizeBench';
  /** UTF-8 bytes of the text. */
  bytes: number;
  nTokens: number;
  /** The first call in the process, and the best of the later ones: wall time, and this process's CPU time. */
  coldMs: number;
  bestMs: number;
  coldCpuMs: number;
  bestCpuMs: number;
  /** With returnTokens: base64 of a little-endian Uint32Array of the ids (no BOS). */
  tokens?: string;
}

/**
 * What llama.cpp returned for the sequence, unchanged (node-llama-cpp does not normalise it): with pooling
 * MEAN, CLS, LAST the pooled vector of the final hidden states (mean over every evaluated token, special
 * tokens included; the first token's row; the last token's row), from llama_get_embeddings_seq; with
 * pooling NONE the last token's row (llama_get_embeddings_ith(-1)). No L2 normalisation: llama-server and
 * llama-embedding normalise afterwards (embd_normalize), this does not.
 */
export interface EmbedResult {
  op: 'embed';
  /** Vector length: llama_model_n_embd_out (the embedding width for BERT). */
  nEmbd: number;
  /** Base64 of a little-endian Float32Array[nEmbd]. */
  vector: string;
  tokens: number[];
}

export interface RankResult {
  op: 'rank';
  /**
   * Per document, llama.cpp's RANK-pooled output as it computed it: the first classifier output of
   * cls_out(tanh(cls(h_first))) for BERT-like models (a raw logit, no sigmoid); for qwen3/qwen3vl
   * rerankers llama.cpp itself applies a softmax, so there it is already a probability.
   */
  scores: number[];
  /**
   * Per document, node-llama-cpp's public rankAll answer for the same input: 1 / (1 + exp(-score)), except
   * for qwen3/qwen3vl where it returns the score unchanged.
   */
  probabilities: number[];
  tokens: number[][];
}

export interface EmbedBenchResult {
  op: 'embedBench';
  /** Milliseconds of the fastest round over every input. */
  ms: number;
  /** Tokens in one round. */
  tokens: number;
}

export type ReferenceResult =
  | EvalResult | TokenizeResult | DetokenizeResult | BenchResult | TokenizeBenchResult | EmbedResult | RankResult
  | EmbedBenchResult | SampleResult;

export interface ReferenceInfo {
  nodeLlamaCpp: string;
  llamaCpp: string;
  /** The ggml CPU library that ran (libggml-cpu-<variant>.so): 'x64', 'sse42', 'haswell', 'zen4', …; see cpu-variant.ts. */
  cpuVariant: string;
  /** 'prebuilt' for the npm binary; anything else means a local build was picked up. */
  buildType: string;
  gpu: string | false;
  threads: number;
  nCtx: number;
  /** Wall time from loading llama.cpp's binary to a ready context (model weights mapped, KV cache allocated). */
  loadMs: number;
  /** Peak resident set of the reference process (Node + llama.cpp) when the last op finished, in MiB. */
  peakRssMb: number;
  bos: number | null;
  eos: number | null;
  /** Whether llama.cpp adds BOS by itself for this model (tokenizer.ggml.add_bos_token). */
  addBos: boolean;
  /** The fill-in-the-middle tokens llama.cpp's vocabulary found (FIM_PRE, FIM_SUF, FIM_MID), null where none. */
  fim: { pre: number | null; suf: number | null; mid: number | null };
  context: ReferenceContextKind;
  /**
   * The pooling llama.cpp used, for 'embedding' and 'ranking' contexts (absent for 'generate').
   * node-llama-cpp does not expose llama_pooling_type(ctx), so this is llama.cpp's rule applied here:
   * 'rank' for a ranking context (forced by the addon); otherwise the file's {arch}.pooling_type, 'none'
   * when absent or -1 (llama_context falls back to hparams.pooling_type, whose default is NONE).
   */
  poolingType?: ReferencePoolingType;
  /** SEP token id (llama_vocab_sep), or null. */
  sep: number | null;
}

export type ReferenceResponse =
  | { ok: true; info: ReferenceInfo; results: ReferenceResult[] }
  | { ok: false; error: string };
