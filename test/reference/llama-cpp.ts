#!/usr/bin/env node
// llama.cpp as a reference oracle, run as its own process so Hearth never imports node-llama-cpp.
// Input: one ReferenceRequest as JSON (argv[2], or stdin when there is no argument).
// Output: one ReferenceResponse as JSON on stdout; llama.cpp's own logs go to stderr.
// Offline by construction: the prebuilt CPU binary only, no download, no build from source.
// Contexts: 'generate' (eval, bench), 'embedding' (embed), 'ranking' (rank); see ReferenceLoad.context.
// Embeddings and rank scores are read as llama.cpp leaves them (llama_get_embeddings_seq): no L2
// normalisation and no sigmoid; node-llama-cpp's sigmoid-ed rank answer is returned beside the raw score.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadedCpuVariants, referenceModulesFor, requestedCpuVariant } from './cpu-variant.ts';
import type {
  BenchOp, BenchResult, DetokenizeOp, EmbedBenchOp, EmbedBenchResult, EmbedOp, EmbedResult, EvalOp, EvalResult, RankOp, RankResult,
  ReferenceContextKind, ReferenceInfo, ReferenceOp, ReferencePoolingType, ReferenceRequest, ReferenceResponse,
  ReferenceResult, SampleOp, SampleResult, TokenizeBenchOp, TokenizeBenchResult, TokenizeOp,
} from './protocol.ts';

// node-llama-cpp reads these when its config module loads; set before the import below.
process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD = 'true';
process.env.NODE_LLAMA_CPP_GPU = 'false';

// The few node-llama-cpp shapes used here, declared locally so type-checking does not need the package.
type Token = number;
interface GenerateNext {
  token?: boolean;
  logits?: boolean;
  options?: { temperature?: number };
}
type InputItem = Token | [Token, { generateNext?: GenerateNext }];
interface IndexOutput { next: { token?: Token | null; logits?: Map<Token, number> } }
interface Sequence {
  clearHistory(): Promise<void>;
  evaluate(tokens: Token[], options: Record<string, unknown>): AsyncGenerator<Token>;
  controlledEvaluate(input: InputItem[]): Promise<Array<IndexOutput | undefined>>;
}
interface Context { getSequence(): Sequence; dispose(): Promise<void>; contextSize: number }

// node-llama-cpp 3.22.1 internals (underscored), used to evaluate exact token lists and to read llama.cpp's
// pooled output before node-llama-cpp post-processes it. Checked at startup by checkInternals().
interface InnerSequence {
  nextTokenIndex: number;
  eraseContextTokenRanges(ranges: Array<{ start: number; end: number }>): Promise<void>;
  evaluate(tokens: Token[], options: { _noSampling: true }): AsyncGenerator<Token>;
}
interface InnerContext {
  contextSize: number;
  batchSize: number;
  /** The addon context: getEmbedding copies llama_get_embeddings_seq(ctx, 0) (or _ith(-1) for pooling NONE). */
  _ctx: { getEmbedding(nTokens: number, maxVectorSize?: number): Float64Array };
}
interface EmbeddingContext {
  getEmbeddingFor(input: Token[] | string): Promise<{ vector: readonly number[] }>;
  dispose(): Promise<void>;
  _llamaContext: InnerContext;
  _sequence: InnerSequence;
  /** Adds the beginning/end special tokens in place, as getEmbeddingFor does. */
  _prepareInput(tokens: Token[]): void;
}
interface RankingContext {
  rankAll(query: string, documents: string[]): Promise<number[]>;
  dispose(): Promise<void>;
  _llamaContext: InnerContext;
  _sequence: InnerSequence;
  /** [BOS] query [EOS] [SEP] document [EOS] (or the model's rerank template), as rank/rankAll evaluate. */
  _getEvaluationInput(query: Token[], document: Token[]): Token[];
}
interface Model {
  tokens: {
    bos: Token | null; eos: Token | null; sep: Token | null; shouldPrependBosToken: boolean;
    infill: { prefix: Token | null; suffix: Token | null; middle: Token | null };
  };
  tokenize(text: string, specialTokens?: boolean, options?: 'trimLeadingSpace'): Token[];
  detokenize(tokens: readonly Token[], specialTokens?: boolean): string;
  isEogToken(token: Token): boolean;
  trainContextSize: number;
  fileInfo: { metadata: Record<string, Record<string, unknown> | undefined> };
  createContext(options: Record<string, unknown>): Promise<Context>;
  createEmbeddingContext(options: Record<string, unknown>): Promise<EmbeddingContext>;
  createRankingContext(options: Record<string, unknown>): Promise<RankingContext>;
  dispose(): Promise<void>;
}
interface Llama {
  gpu: string | false;
  buildType: string;
  llamaCppRelease: { repo: string; release: string };
  loadModel(options: Record<string, unknown>): Promise<Model>;
  dispose(): Promise<void>;
}
interface NodeLlamaCpp { getLlama(options: Record<string, unknown>): Promise<Llama> }

const GREEDY: GenerateNext['options'] = { temperature: 0 };

function fail(message: string): never {
  throw new Error(message);
}

function readRequest(): ReferenceRequest {
  const text = process.argv[2] ?? readStdin();
  let req: ReferenceRequest;
  try {
    req = JSON.parse(text) as ReferenceRequest;
  } catch (e) {
    return fail(`request is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof req?.model !== 'string') fail('request.model must be the path of a GGUF file');
  if (!Array.isArray(req.ops)) fail('request.ops must be an array of operations');
  return req;
}

function readStdin(): string {
  return readFileSync(0, 'utf8');
}

function positiveInt(v: unknown, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || (v as number) < 1) fail(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v as number;
}

function checkTokens(tokens: unknown, name: string): number[] {
  if (!Array.isArray(tokens) || !tokens.every((t) => Number.isInteger(t) && t >= 0)) {
    fail(`${name} must be an array of non-negative integer token ids`);
  }
  return tokens as number[];
}

/** Scatter node-llama-cpp's sorted (token → logit) map into a dense row; unseen ids stay NaN so gaps show. */
function denseLogits(map: Map<Token, number> | undefined): Float32Array {
  if (!map) fail('llama.cpp returned no logits');
  const row = new Float32Array(map.size).fill(Number.NaN);
  for (const [id, logit] of map) {
    if (id >= row.length) fail(`logit for token ${id} outside a vocabulary of ${map.size}`);
    row[id] = logit;
  }
  return row;
}

function base64(row: Float32Array): string {
  return Buffer.from(row.buffer, row.byteOffset, row.byteLength).toString('base64');
}

const POOLING_TYPES: readonly ReferencePoolingType[] = ['none', 'mean', 'cls', 'last', 'rank'];

/**
 * The pooling llama.cpp uses for this context (node-llama-cpp does not expose llama_pooling_type(ctx)).
 * A ranking context forces RANK; otherwise node-llama-cpp leaves the context's pooling UNSPECIFIED and
 * llama_context takes hparams.pooling_type: {arch}.pooling_type, NONE when absent (or -1).
 */
function poolingTypeOf(model: Model, kind: ReferenceContextKind): ReferencePoolingType {
  if (kind === 'ranking') return 'rank';
  const md = model.fileInfo.metadata;
  const arch = md.general?.architecture;
  const v = typeof arch === 'string' ? md[arch]?.pooling_type : undefined;
  if (v === undefined || v === -1) return 'none';
  return POOLING_TYPES[v as number] ?? fail(`unknown ${String(arch)}.pooling_type ${JSON.stringify(v)}`);
}

/** Fail clearly, not with a TypeError, if a node-llama-cpp upgrade renamed the internals used here. */
function checkInternals(ctx: EmbeddingContext | RankingContext, names: string[]): void {
  const missing = names.filter((n) => (ctx as unknown as Record<string, unknown>)[n] === undefined);
  const inner = ctx._llamaContext;
  if (typeof inner?._ctx?.getEmbedding !== 'function') missing.push('_llamaContext._ctx.getEmbedding');
  if (missing.length) fail(`node-llama-cpp internals changed (missing ${missing.join(', ')}); update llama-cpp.ts`);
}

/**
 * Evaluate exactly `tokens` in a fresh sequence and return llama.cpp's output for it, unchanged (f32
 * values carried in a Float64Array): the steps of LlamaEmbeddingContext.getEmbeddingFor and
 * LlamaRankingContext's _evaluateRankingForInput, without their special-token additions or sigmoid.
 */
async function pooledOutput(
  ctx: { _llamaContext: InnerContext; _sequence: InnerSequence }, tokens: Token[], maxVectorSize = 0,
): Promise<Float64Array> {
  const inner = ctx._llamaContext;
  if (tokens.length >= inner.contextSize) fail(`input of ${tokens.length} tokens does not fit nCtx=${inner.contextSize} (node-llama-cpp needs one spare)`);
  // node-llama-cpp would split a longer input over several llama_encode calls and keep the last one's output.
  if (tokens.length > inner.batchSize) fail(`input of ${tokens.length} tokens exceeds nBatch=${inner.batchSize}; an encoder needs it in one batch`);
  const seq = ctx._sequence;
  await seq.eraseContextTokenRanges([{ start: 0, end: seq.nextTokenIndex }]);
  // One step of the iterator evaluates the whole input; nothing is sampled.
  for await (const _ of seq.evaluate(tokens, { _noSampling: true })) break;
  return inner._ctx.getEmbedding(tokens.length, maxVectorSize);
}

/** The context a request opened: at most one of the three kinds. */
interface OpenContexts {
  generate: Context | null;
  embedding: EmbeddingContext | null;
  ranking: RankingContext | null;
}

class Reference {
  readonly model: Model;
  readonly contexts: OpenContexts;
  private readonly seq: Sequence | null;
  readonly nCtx: number;

  constructor(model: Model, contexts: OpenContexts) {
    this.model = model;
    this.contexts = contexts;
    this.seq = contexts.generate?.getSequence() ?? null;
    this.nCtx = contexts.generate?.contextSize
      ?? (contexts.embedding ?? contexts.ranking)?._llamaContext.contextSize ?? 0;
  }

  private get sequence(): Sequence {
    return this.seq ?? fail('this op needs a generate context');
  }

  private requireContext(op: string): void {
    if (!this.seq) fail(`${op} needs weights and a 'generate' context; this request opened ${this.opened()}`);
  }

  private opened(): string {
    const { embedding, ranking } = this.contexts;
    return embedding ? "an 'embedding' context" : ranking ? "a 'ranking' context" : 'the vocabulary only';
  }

  async embed(op: EmbedOp): Promise<EmbedResult> {
    const ctx = this.contexts.embedding ?? fail(`embed needs context: 'embedding'; this request opened ${this.opened()}`);
    if ((op.tokens === undefined) === (op.text === undefined)) fail('embed needs exactly one of tokens or text');
    // getEmbeddingFor tokenizes text the same way (tokenizeInput: tokenize(text, false)).
    const ids = op.text !== undefined
      ? (typeof op.text === 'string' ? [...this.model.tokenize(op.text, false)] : fail('embed.text must be a string'))
      : [...checkTokens(op.tokens, 'embed.tokens')];
    if (ids.length === 0) fail('embed input is empty');
    let values: ArrayLike<number>;
    const tokens = [...ids];
    if (op.addSpecial ?? true) {
      ctx._prepareInput(tokens); // what getEmbeddingFor evaluates, for the result's `tokens`
      if (tokens.length > ctx._llamaContext.batchSize) fail(`input of ${tokens.length} tokens exceeds nBatch=${ctx._llamaContext.batchSize}; an encoder needs it in one batch`);
      values = (await ctx.getEmbeddingFor(ids)).vector;
    } else {
      values = await pooledOutput(ctx, tokens);
    }
    const vector = Float32Array.from(values);
    if (vector.length === 0) fail('llama.cpp returned an empty embedding');
    return { op: 'embed', nEmbd: vector.length, vector: base64(vector), tokens };
  }

  async embedBench(op: EmbedBenchOp): Promise<EmbedBenchResult> {
    const ctx = this.contexts.embedding ?? fail(`embedBench needs context: 'embedding'; this request opened ${this.opened()}`);
    if (!Array.isArray(op.inputs) || op.inputs.length === 0) fail('embedBench.inputs must be a non-empty array of token lists');
    const inputs = op.inputs.map((t, i) => [...checkTokens(t, `embedBench.inputs[${i}]`)]);
    const reps = positiveInt(op.reps, 'embedBench.reps', 1);
    await pooledOutput(ctx, inputs[0]);
    let best = Infinity;
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      for (const input of inputs) await pooledOutput(ctx, input);
      best = Math.min(best, performance.now() - t0);
    }
    return { op: 'embedBench', ms: best, tokens: inputs.reduce((s, t) => s + t.length, 0) };
  }

  async rank(op: RankOp): Promise<RankResult> {
    const ctx = this.contexts.ranking ?? fail(`rank needs context: 'ranking'; this request opened ${this.opened()}`);
    if (typeof op.query !== 'string') fail('rank.query must be a string');
    if (!Array.isArray(op.documents) || !op.documents.every((d) => typeof d === 'string')) {
      fail('rank.documents must be an array of strings');
    }
    // As LlamaRankingContext.rankAll tokenizes and joins them.
    const query = this.model.tokenize(op.query, false, 'trimLeadingSpace');
    const tokens = op.documents.map((d) => ctx._getEvaluationInput(query, this.model.tokenize(d, false, 'trimLeadingSpace')));
    const scores: number[] = [];
    for (const input of tokens) {
      if (input.length === 0) fail('rank input is empty (empty query and document)');
      const out = await pooledOutput(ctx, input, 1);
      if (out.length === 0) fail('llama.cpp returned no rank score');
      scores.push(out[0]);
    }
    const probabilities = await ctx.rankAll(op.query, op.documents);
    return { op: 'rank', scores, probabilities, tokens };
  }

  /** Evaluate `input` after clearing the sequence; returns the output of its last item. */
  private async step(input: InputItem[], fresh: boolean): Promise<{ token: Token; logits?: Map<Token, number> }> {
    if (fresh) await this.sequence.clearHistory();
    const out = await this.sequence.controlledEvaluate(input);
    const next = out[input.length - 1]?.next;
    if (next?.token == null) fail('llama.cpp produced no token');
    return { token: next.token, logits: next.logits };
  }

  async eval(op: EvalOp): Promise<EvalResult> {
    this.requireContext('eval');
    const tokens = checkTokens(op.tokens, 'eval.tokens');
    if (tokens.length === 0) fail('eval.tokens is empty');
    const nPredict = op.nPredict ?? 0;
    const logitSteps = op.logitSteps ?? 1;
    if (!Number.isInteger(nPredict) || nPredict < 0) fail('eval.nPredict must be a non-negative integer');
    if (!Number.isInteger(logitSteps) || logitSteps < 1) fail('eval.logitSteps must be a positive integer');
    const steps = Math.max(nPredict, logitSteps);
    // The last generated token is never fed back, so the context holds prompt + steps - 1 tokens.
    if (tokens.length + steps - 1 > this.nCtx) {
      fail(`prompt of ${tokens.length} tokens + ${steps} steps does not fit nCtx=${this.nCtx}`);
    }
    const logits: string[] = [];
    const greedy: number[] = [];
    let feed: InputItem[] = tokens.slice(0, -1);
    let last = tokens[tokens.length - 1];
    for (let k = 0; k < steps; k++) {
      const want = k < logitSteps;
      const { token, logits: map } = await this.step(
        [...feed, [last, { generateNext: { token: true, logits: want, options: GREEDY } }]], k === 0);
      if (want) logits.push(base64(denseLogits(map)));
      if (k < nPredict) greedy.push(token);
      if (op.stopAtEog && this.model.isEogToken(token)) break;
      feed = [];
      last = token;
    }
    const nVocab = logits.length ? Buffer.from(logits[0], 'base64').byteLength / 4 : 0;
    return { op: 'eval', nVocab, logits, greedy };
  }

  async sample(op: SampleOp): Promise<SampleResult> {
    this.requireContext('sample');
    const tokens = checkTokens(op.tokens, 'sample.tokens');
    if (tokens.length === 0) fail('sample.tokens is empty');
    const nPredict = positiveInt(op.nPredict, 'sample.nPredict', 1);
    if (tokens.length + nPredict > this.nCtx) fail(`prompt of ${tokens.length} tokens + ${nPredict} does not fit nCtx=${this.nCtx}`);
    if (op.options === null || typeof op.options !== 'object') fail('sample.options must be an object');
    await this.sequence.clearHistory();
    const out: Token[] = [];
    for await (const token of this.sequence.evaluate(tokens, { ...op.options, yieldEogToken: true })) {
      out.push(token);
      if (out.length >= nPredict || this.model.isEogToken(token)) break;
    }
    // the raw logits of each step, teacher-forced in one pass
    await this.sequence.clearHistory();
    const all = [...tokens, ...out];
    const input: InputItem[] = all.slice(0, tokens.length - 1);
    for (let i = tokens.length - 1; i < all.length - 1; i++) input.push([all[i], { generateNext: { token: true, logits: true, options: GREEDY } }]);
    const res = await this.sequence.controlledEvaluate(input);
    const logits = out.map((_, k) => base64(denseLogits(res[tokens.length - 1 + k]?.next.logits)));
    return { op: 'sample', tokens: out, logits };
  }

  tokenize(op: TokenizeOp): ReferenceResult {
    if (typeof op.text !== 'string') fail('tokenize.text must be a string');
    const ids = this.model.tokenize(op.text, op.parseSpecial ?? false);
    const bos = this.model.tokens.bos;
    if (op.addBos && bos == null) fail('addBos requested but the model has no BOS token');
    return { op: 'tokenize', tokens: op.addBos ? [bos as number, ...ids] : [...ids] };
  }

  detokenize(op: DetokenizeOp): ReferenceResult {
    const tokens = checkTokens(op.tokens, 'detokenize.tokens');
    return { op: 'detokenize', text: this.model.detokenize(tokens, op.renderSpecial ?? false) };
  }

  tokenizeBench(op: TokenizeBenchOp): TokenizeBenchResult {
    if (typeof op.file !== 'string') fail('tokenizeBench.file must be the path of a text file');
    const reps = positiveInt(op.reps, 'tokenizeBench.reps', 3);
    const text = readFileSync(op.file, 'utf8');
    const special = op.parseSpecial ?? false;
    // CPU time as well as wall time: on a shared machine it is the steadier of the two.
    const timed = (): [Token[], number, number] => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const ids = this.model.tokenize(text, special);
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      return [ids, ms, (c.user + c.system) / 1000];
    };
    let [ids, coldMs, coldCpuMs] = timed();
    let bestMs = Infinity;
    let bestCpuMs = Infinity;
    for (let r = 0; r < reps; r++) {
      let ms: number, cpuMs: number;
      [ids, ms, cpuMs] = timed();
      bestMs = Math.min(bestMs, ms);
      bestCpuMs = Math.min(bestCpuMs, cpuMs);
    }
    const result: TokenizeBenchResult = {
      op: 'tokenizeBench', bytes: Buffer.byteLength(text, 'utf8'), nTokens: ids.length, coldMs, bestMs, coldCpuMs, bestCpuMs,
    };
    if (op.returnTokens) {
      const u32 = Uint32Array.from(ids);
      result.tokens = Buffer.from(u32.buffer, u32.byteOffset, u32.byteLength).toString('base64');
    }
    return result;
  }

  async bench(op: BenchOp, threads: number): Promise<BenchResult> {
    this.requireContext('bench');
    const nPrompt = positiveInt(op.nPrompt, 'bench.nPrompt', 1);
    const nGen = positiveInt(op.nGen, 'bench.nGen', 1);
    const reps = positiveInt(op.reps, 'bench.reps', 1);
    if (nPrompt + nGen > this.nCtx) fail(`bench needs ${nPrompt + nGen} tokens; nCtx=${this.nCtx}`);
    // Any fixed ids do: timing does not depend on which tokens are fed. Start from the prompt's own text.
    const seed = this.model.tokenize('Once upon a time there was a little girl who loved to play outside.');
    const prompt = Array.from({ length: nPrompt }, (_, i) => seed[i % seed.length]);
    let prefillMs = Infinity;
    let decodeMs = Infinity;
    for (let r = 0; r < reps; r++) {
      let t0 = performance.now();
      let { token } = await this.step(
        [...prompt.slice(0, -1), [prompt[nPrompt - 1], { generateNext: { token: true, options: GREEDY } }]], true);
      prefillMs = Math.min(prefillMs, performance.now() - t0);
      t0 = performance.now();
      for (let k = 0; k < nGen; k++) {
        ({ token } = await this.step([[token, { generateNext: { token: true, options: GREEDY } }]], false));
      }
      decodeMs = Math.min(decodeMs, performance.now() - t0);
    }
    return {
      op: 'bench', nPrompt, nGen, threads, prefillMs, decodeMs,
      prefillTokensPerS: (nPrompt * 1000) / prefillMs,
      decodeTokensPerS: (nGen * 1000) / decodeMs,
    };
  }
}

async function run(req: ReferenceRequest): Promise<ReferenceResponse> {
  const threads = positiveInt(req.threads, 'threads', 1);
  const nCtx = positiveInt(req.nCtx, 'nCtx', 1024);
  const nBatch = positiveInt(req.nBatch, 'nBatch', Math.min(nCtx, 512));
  const kvType = req.kvType ?? 'f16';
  if (kvType !== 'f16' && kvType !== 'f32') fail(`kvType must be 'f16' or 'f32', got ${JSON.stringify(kvType)}`);
  const kind = req.context ?? 'generate';
  if (kind !== 'generate' && kind !== 'embedding' && kind !== 'ranking') {
    fail(`context must be 'generate', 'embedding' or 'ranking', got ${JSON.stringify(kind)}`);
  }

  // By file URL, so HEARTH_REFERENCE_CPU can point at a copy offering ggml a single CPU library (and so tsc
  // does not resolve the package).
  const variant = requestedCpuVariant();
  const modules = referenceModulesFor(variant);
  const nlc = (await import(pathToFileURL(join(modules, 'node-llama-cpp', 'dist', 'index.js')).href)) as NodeLlamaCpp;
  const t0 = performance.now();
  const llama = await nlc.getLlama({
    gpu: false,
    build: 'never', // never compile llama.cpp from source
    skipDownload: true, // never fetch its sources either
    usePrebuiltBinaries: true,
    progressLogs: false,
    maxThreads: 0, // the context's thread count is then exactly what we ask for
    logLevel: process.env.HEARTH_REFERENCE_LOG ?? 'error',
    logger: (level: string, message: string) => process.stderr.write(`[llama.cpp ${level}] ${message}\n`),
  }).catch((e: Error) => {
    // With one CPU library left, node-llama-cpp's binary test fails when ggml refuses it on this CPU.
    if (variant !== undefined) fail(`HEARTH_REFERENCE_CPU=${variant}: this CPU cannot run ggml's ${variant} library (${e.name}: ${e.message.split('\n')[0]})`);
    throw e;
  });
  try {
    const cpuVariant = loadedCpuVariants().join('+');
    if (variant !== undefined && cpuVariant !== variant) {
      fail(`HEARTH_REFERENCE_CPU=${variant}: ggml loaded ${cpuVariant || 'no CPU library'} (this CPU lacks ${variant}'s instructions?)`);
    }
    const vocabOnly = req.vocabOnly ?? false;
    // The embedding and ranking factories take no flash-attention option; they follow the model's default, set
    // here as for 'generate' (default off: K and V stay f32 in the plain softmax(QK^T)V graph; on, they are f16).
    const model = await llama.loadModel({
      modelPath: req.model, gpuLayers: 0, vocabOnly, defaultContextFlashAttention: req.flashAttention ?? false,
    });
    const contexts: OpenContexts = { generate: null, embedding: null, ranking: null };
    if (!vocabOnly && kind === 'generate') {
      contexts.generate = await model.createContext({
        contextSize: nCtx,
        batchSize: nBatch,
        sequences: 1,
        threads: { ideal: threads, min: threads },
        flashAttention: req.flashAttention ?? false,
        experimentalKvCacheKeyType: kvType.toUpperCase(),
        experimentalKvCacheValueType: kvType.toUpperCase(),
      });
    } else if (!vocabOnly) {
      // Encoders: positions past the trained table mean nothing, and the whole input must be one ubatch.
      const encCtx = positiveInt(req.nCtx, 'nCtx', Math.min(1024, model.trainContextSize));
      const encOptions = {
        contextSize: encCtx,
        batchSize: positiveInt(req.nBatch, 'nBatch', encCtx),
        threads: { ideal: threads, min: threads },
      };
      if (kind === 'embedding') {
        contexts.embedding = await model.createEmbeddingContext(encOptions);
        checkInternals(contexts.embedding, ['_llamaContext', '_sequence', '_prepareInput']);
      } else {
        contexts.ranking = await model.createRankingContext(encOptions);
        checkInternals(contexts.ranking, ['_llamaContext', '_sequence', '_getEvaluationInput']);
      }
    }
    const loadMs = performance.now() - t0;
    const ref = new Reference(model, contexts);
    const results: ReferenceResult[] = [];
    for (const op of req.ops as ReferenceOp[]) {
      switch (op.op) {
        case 'eval': results.push(await ref.eval(op)); break;
        case 'sample': results.push(await ref.sample(op)); break;
        case 'tokenize': results.push(ref.tokenize(op)); break;
        case 'detokenize': results.push(ref.detokenize(op)); break;
        case 'bench': results.push(await ref.bench(op, threads)); break;
        case 'tokenizeBench': results.push(ref.tokenizeBench(op)); break;
        case 'embed': results.push(await ref.embed(op)); break;
        case 'rank': results.push(await ref.rank(op)); break;
        case 'embedBench': results.push(await ref.embedBench(op)); break;
        default: fail(`unknown op ${JSON.stringify((op as { op: unknown }).op)}`);
      }
    }
    const info: ReferenceInfo = {
      nodeLlamaCpp: nodeLlamaCppVersion(modules),
      cpuVariant,
      llamaCpp: `${llama.llamaCppRelease.repo}@${llama.llamaCppRelease.release}`,
      buildType: llama.buildType,
      gpu: llama.gpu,
      threads,
      nCtx: ref.nCtx,
      loadMs,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      bos: model.tokens.bos,
      eos: model.tokens.eos,
      addBos: model.tokens.shouldPrependBosToken,
      sep: model.tokens.sep,
      fim: { pre: model.tokens.infill.prefix, suf: model.tokens.infill.suffix, mid: model.tokens.infill.middle },
      context: kind,
    };
    if (!vocabOnly && kind !== 'generate') info.poolingType = poolingTypeOf(model, kind);
    await contexts.generate?.dispose();
    await contexts.embedding?.dispose();
    await contexts.ranking?.dispose();
    await model.dispose();
    return { ok: true, info, results };
  } finally {
    await llama.dispose();
  }
}

function nodeLlamaCppVersion(modules: string): string {
  // The package does not export its package.json; read it from the folder it was loaded from.
  return (JSON.parse(readFileSync(join(modules, 'node-llama-cpp', 'package.json'), 'utf8')) as { version: string }).version;
}

let response: ReferenceResponse;
let code = 0;
try {
  response = await run(readRequest());
} catch (e) {
  response = { ok: false, error: (e as Error)?.stack ?? String(e) };
  code = 1;
}
process.stdout.write(JSON.stringify(response) + '\n', () => process.exit(code));
