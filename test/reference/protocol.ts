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
}

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

export type ReferenceOp = EvalOp | TokenizeOp | DetokenizeOp | BenchOp | TokenizeBenchOp;

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

export type ReferenceResult = EvalResult | TokenizeResult | DetokenizeResult | BenchResult | TokenizeBenchResult;

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
}

export type ReferenceResponse =
  | { ok: true; info: ReferenceInfo; results: ReferenceResult[] }
  | { ok: false; error: string };
