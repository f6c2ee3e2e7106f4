#!/usr/bin/env node
// llama.cpp as a reference oracle, run as its own process so Hearth never imports node-llama-cpp.
// Input: one ReferenceRequest as JSON (argv[2], or stdin when there is no argument).
// Output: one ReferenceResponse as JSON on stdout; llama.cpp's own logs go to stderr.
// Offline by construction: the prebuilt CPU binary only, no download, no build from source.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadedCpuVariants, referenceModulesFor, requestedCpuVariant } from './cpu-variant.ts';
import type {
  BenchOp, BenchResult, DetokenizeOp, EvalOp, EvalResult, ReferenceInfo, ReferenceOp,
  ReferenceRequest, ReferenceResponse, ReferenceResult, TokenizeBenchOp, TokenizeBenchResult, TokenizeOp,
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
  controlledEvaluate(input: InputItem[]): Promise<Array<IndexOutput | undefined>>;
}
interface Context { getSequence(): Sequence; dispose(): Promise<void>; contextSize: number }
interface Model {
  tokens: { bos: Token | null; eos: Token | null; shouldPrependBosToken: boolean };
  tokenize(text: string, specialTokens?: boolean): Token[];
  detokenize(tokens: readonly Token[], specialTokens?: boolean): string;
  isEogToken(token: Token): boolean;
  createContext(options: Record<string, unknown>): Promise<Context>;
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

class Reference {
  readonly model: Model;
  /** Null when only the vocabulary was loaded. */
  readonly context: Context | null;
  private readonly seq: Sequence | null;
  readonly nCtx: number;

  constructor(model: Model, context: Context | null) {
    this.model = model;
    this.context = context;
    this.seq = context?.getSequence() ?? null;
    this.nCtx = context?.contextSize ?? 0;
  }

  private get sequence(): Sequence {
    return this.seq ?? fail('this op needs weights and a context; the request loaded the vocabulary only');
  }

  private requireContext(op: string): void {
    if (!this.seq) fail(`${op} needs weights and a context; the request loaded the vocabulary only`);
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
    const model = await llama.loadModel({ modelPath: req.model, gpuLayers: 0, vocabOnly });
    const context = vocabOnly ? null : await model.createContext({
      contextSize: nCtx,
      batchSize: nBatch,
      sequences: 1,
      threads: { ideal: threads, min: threads },
      flashAttention: req.flashAttention ?? false,
      experimentalKvCacheKeyType: kvType.toUpperCase(),
      experimentalKvCacheValueType: kvType.toUpperCase(),
    });
    const loadMs = performance.now() - t0;
    const ref = new Reference(model, context);
    const results: ReferenceResult[] = [];
    for (const op of req.ops as ReferenceOp[]) {
      switch (op.op) {
        case 'eval': results.push(await ref.eval(op)); break;
        case 'tokenize': results.push(ref.tokenize(op)); break;
        case 'detokenize': results.push(ref.detokenize(op)); break;
        case 'bench': results.push(await ref.bench(op, threads)); break;
        case 'tokenizeBench': results.push(ref.tokenizeBench(op)); break;
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
    };
    await context?.dispose();
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
