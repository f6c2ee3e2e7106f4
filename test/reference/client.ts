// Calls llama-cpp.ts in a child process (the project's own Node) and decodes its answer.
// Tests use referenceAvailable()/requireReference() so a checkout without the optional
// reference package still passes, unless HEARTH_REQUIRE_REFERENCE=1 demands it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import type {
  BenchOp, BenchResult, EmbedBenchResult, EmbedResult, EvalOp, EvalResult, RankResult, ReferenceInfo, ReferenceLoad, ReferenceOp,
  ReferenceRequest, ReferenceResponse, TokenizeBenchOp, TokenizeBenchResult,
} from './protocol.ts';

export type * from './protocol.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REFERENCE_SCRIPT = join(HERE, 'llama-cpp.ts');
export const REFERENCE_INSTALL_COMMAND = 'npm run reference:install';
/** The two packages the script needs; their versions must agree (the binary is built for one release). */
const PACKAGES = ['node-llama-cpp', '@node-llama-cpp/linux-x64'];
const DEFAULT_TIMEOUT_MS = 120_000;

let cachedReason: string | null | undefined;

/** Why the reference cannot run here, or null when it can. Checked once per process. */
export function referenceUnavailableReason(): string | null {
  if (cachedReason !== undefined) return cachedReason;
  cachedReason = computeReason();
  return cachedReason;
}

function computeReason(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return `only the linux-x64 prebuilt llama.cpp binary is pinned; this is ${process.platform}-${process.arch}`;
  }
  const versions: string[] = [];
  for (const name of PACKAGES) {
    const manifest = join(HERE, 'node_modules', name, 'package.json');
    if (!existsSync(manifest)) return `${name} is not installed in test/reference/node_modules`;
    versions.push((JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version);
  }
  if (versions[0] !== versions[1]) {
    return `node-llama-cpp ${versions[0]} and its binary package ${versions[1]} differ`;
  }
  return null;
}

export function referenceAvailable(): boolean {
  return referenceUnavailableReason() === null;
}

/**
 * For use at the top of a test: returns true when the reference can run; otherwise skips the test
 * with the reason and returns false, or throws when HEARTH_REQUIRE_REFERENCE=1.
 */
export function requireReference(t: TestContext): boolean {
  const reason = referenceUnavailableReason();
  if (reason === null) return true;
  const message = `llama.cpp reference unavailable: ${reason}. Install it with \`${REFERENCE_INSTALL_COMMAND}\``;
  if (process.env.HEARTH_REQUIRE_REFERENCE === '1') throw new Error(`${message} (HEARTH_REQUIRE_REFERENCE=1)`);
  t.skip(message);
  return false;
}

function parseResponse(stdout: string, stderr: string, status: number | null): ReferenceResponse & { ok: true } {
  let res: ReferenceResponse;
  try {
    res = JSON.parse(stdout) as ReferenceResponse;
  } catch {
    throw new Error(`llama.cpp reference exited with ${status} and no JSON answer.\nstderr:\n${stderr.slice(-4000)}`);
  }
  if (!res.ok) throw new Error(`llama.cpp reference failed: ${res.error}\nstderr:\n${stderr.slice(-4000)}`);
  return res;
}

function assertAvailable(): void {
  const reason = referenceUnavailableReason();
  if (reason !== null) throw new Error(`llama.cpp reference unavailable: ${reason}. Run \`${REFERENCE_INSTALL_COMMAND}\``);
}

/** One request: load the model once, run every op in order. Blocks until the child exits. */
export function runReference(req: ReferenceRequest, timeoutMs = DEFAULT_TIMEOUT_MS): ReferenceResponse & { ok: true } {
  assertAvailable();
  const r = spawnSync(process.execPath, [REFERENCE_SCRIPT], {
    input: JSON.stringify(req),
    encoding: 'utf8',
    maxBuffer: 1 << 30, // logits of big vocabularies are megabytes
    timeout: timeoutMs,
  });
  if (r.error) throw new Error(`could not run the llama.cpp reference: ${r.error.message}`);
  return parseResponse(r.stdout, r.stderr, r.status);
}

/** Same as runReference without blocking the event loop (for benchmarks and servers under test). */
export function runReferenceAsync(req: ReferenceRequest, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ReferenceResponse & { ok: true }> {
  assertAvailable();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [REFERENCE_SCRIPT], { timeout: timeoutMs, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new Error(`could not run the llama.cpp reference: ${e.message}`)));
    child.on('close', (status) => {
      try {
        resolve(parseResponse(Buffer.concat(out).toString('utf8'), Buffer.concat(err).toString('utf8'), status));
      } catch (e) {
        reject(e);
      }
    });
    child.stdin.end(JSON.stringify(req));
  });
}

/** Decode one base64 logits row of the protocol. */
export function decodeLogits(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  const row = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(row.buffer).set(bytes);
  return row;
}

export interface ReferenceEval {
  nVocab: number;
  /** Raw logits at the last prompt position. */
  logits: Float32Array;
  /** stepLogits[k] produced greedy[k]; stepLogits[0] is `logits`. Length = logitSteps. */
  stepLogits: Float32Array[];
  greedy: number[];
}

function decodeEval(r: EvalResult): ReferenceEval {
  const stepLogits = r.logits.map(decodeLogits);
  return { nVocab: r.nVocab, logits: stepLogits[0], stepLogits, greedy: r.greedy };
}

export type ReferenceEvalOptions = ReferenceLoad & Omit<EvalOp, 'op'>;

/** Logits and greedy continuation of one prompt (token ids, BOS included if wanted). */
export function referenceEval(opts: ReferenceEvalOptions): ReferenceEval {
  const { tokens, nPredict, logitSteps, stopAtEog, ...load } = opts;
  return referenceEvalMany(load, [{ tokens, nPredict, logitSteps, stopAtEog }])[0];
}

/** Several prompts against one loaded model (each starts from an empty context). */
export function referenceEvalMany(load: ReferenceLoad, prompts: Array<Omit<EvalOp, 'op'>>): ReferenceEval[] {
  return referenceEvalWithInfo(load, prompts).evals;
}

/** referenceEvalMany, with what ran them (llama.cpp release, the ggml CPU library, load time). */
export function referenceEvalWithInfo(
  load: ReferenceLoad, prompts: Array<Omit<EvalOp, 'op'>>,
): { info: ReferenceInfo; evals: ReferenceEval[] } {
  const ops: ReferenceOp[] = prompts.map((p) => ({ op: 'eval', ...p }));
  const res = runReference({ ...load, ops });
  return { info: res.info, evals: (res.results as EvalResult[]).map(decodeEval) };
}

export interface ReferenceTokenizeOptions {
  addBos?: boolean;
  parseSpecial?: boolean;
  /** Load the vocabulary only (the vocab-only GGUFs of ../shared/vocab need it). */
  vocabOnly?: boolean;
}

/** llama.cpp's tokenization of each text (no BOS unless addBos). */
export function referenceTokenizeMany(model: string, texts: string[], opts: ReferenceTokenizeOptions = {}): number[][] {
  const { vocabOnly, ...tok } = opts;
  const ops: ReferenceOp[] = texts.map((text) => ({ op: 'tokenize', text, ...tok }));
  return runReference({ model, vocabOnly, ops }).results.map((r) => (r.op === 'tokenize' ? r.tokens : []));
}

export function referenceTokenize(model: string, text: string, opts: ReferenceTokenizeOptions = {}): number[] {
  return referenceTokenizeMany(model, [text], opts)[0];
}

export function referenceDetokenize(model: string, tokens: number[], opts: { renderSpecial?: boolean } = {}): string {
  const r = runReference({ model, ops: [{ op: 'detokenize', tokens, ...opts }] }).results[0];
  return r.op === 'detokenize' ? r.text : '';
}

/** Timings for a benchmark table; asynchronous so a benchmark can keep its own clock running. */
export async function referenceBench(
  load: ReferenceLoad, bench: Omit<BenchOp, 'op'>,
): Promise<{ info: ReferenceInfo; result: BenchResult }> {
  const res = await runReferenceAsync({ ...load, ops: [{ op: 'bench', ...bench }] }, 600_000);
  return { info: res.info, result: res.results[0] as BenchResult };
}

/**
 * Timings of llama.cpp's tokenizer on a text file (model load excluded), with the ids of the last call
 * when `returnTokens` is set. Loads the vocabulary only unless `vocabOnly: false` is given.
 */
export async function referenceTokenizeBench(
  model: string, bench: Omit<TokenizeBenchOp, 'op'>, load: Omit<ReferenceLoad, 'model'> = {},
): Promise<{ info: ReferenceInfo; result: TokenizeBenchResult; tokens: Uint32Array | null }> {
  const req: ReferenceRequest = { vocabOnly: true, ...load, model, ops: [{ op: 'tokenizeBench', ...bench }] };
  const res = await runReferenceAsync(req, 600_000);
  const result = res.results[0] as TokenizeBenchResult;
  let tokens: Uint32Array | null = null;
  if (result.tokens !== undefined) {
    const bytes = Buffer.from(result.tokens, 'base64');
    tokens = new Uint32Array(bytes.byteLength / 4);
    new Uint8Array(tokens.buffer).set(bytes);
  }
  return { info: res.info, result, tokens };
}

/** Load options of the embedding and ranking helpers (the context kind is theirs to set). */
export type ReferenceEncoderLoad = Omit<ReferenceLoad, 'context' | 'vocabOnly' | 'flashAttention' | 'kvType'>;

export interface ReferenceEmbedding {
  vector: Float32Array;
  /** The ids llama.cpp evaluated (with addSpecial, node-llama-cpp's [CLS]/[SEP]-style additions included). */
  tokens: number[];
}

/**
 * llama.cpp's pooled embedding of each input (token ids, or text that llama.cpp tokenizes), unnormalised,
 * one model load for all of them; with it, what ran them (info.poolingType is the pooling used).
 * addSpecial (default true) lets node-llama-cpp add the beginning/end tokens an input lacks; false evaluates
 * the ids exactly as given. See EmbedOp and EmbedResult.
 */
export function referenceEmbedWithInfo(
  load: ReferenceEncoderLoad, inputs: Array<number[] | string>, opts: { addSpecial?: boolean } = {},
): { info: ReferenceInfo; embeddings: ReferenceEmbedding[] } {
  const ops: ReferenceOp[] = inputs.map((input) => (typeof input === 'string'
    ? { op: 'embed', text: input, ...opts }
    : { op: 'embed', tokens: input, ...opts }));
  const res = runReference({ ...load, context: 'embedding', ops });
  const embeddings = (res.results as EmbedResult[]).map((r) => ({ vector: decodeLogits(r.vector), tokens: r.tokens }));
  return { info: res.info, embeddings };
}

/** The vectors of referenceEmbedWithInfo, one per input. */
export function referenceEmbed(
  load: ReferenceEncoderLoad, inputs: Array<number[] | string>, opts: { addSpecial?: boolean } = {},
): Float32Array[] {
  return referenceEmbedWithInfo(load, inputs, opts).embeddings.map((e) => e.vector);
}

/**
 * llama.cpp's rank scores of each document for the query (raw classifier logits for BERT-like models,
 * no sigmoid), node-llama-cpp's probabilities (their sigmoid) and the ids each pair was evaluated as.
 * See RankOp and RankResult.
 */
export function referenceRankWithInfo(
  load: ReferenceEncoderLoad, query: string, documents: string[],
): { info: ReferenceInfo; result: RankResult } {
  const res = runReference({ ...load, context: 'ranking', ops: [{ op: 'rank', query, documents }] });
  return { info: res.info, result: res.results[0] as RankResult };
}

/**
 * Timings of an 'embedding' context, one per set of token-id inputs (see EmbedBenchOp), one model load for all;
 * asynchronous, like referenceBench.
 */
export async function referenceEmbedBench(
  load: ReferenceEncoderLoad, sets: number[][][], reps = 1,
): Promise<{ info: ReferenceInfo; results: EmbedBenchResult[] }> {
  const ops: ReferenceOp[] = sets.map((inputs) => ({ op: 'embedBench', inputs, reps }));
  const res = await runReferenceAsync({ ...load, context: 'embedding', ops }, 600_000);
  return { info: res.info, results: res.results as EmbedBenchResult[] };
}

/** The raw scores of referenceRankWithInfo, one per document. */
export function referenceRank(load: ReferenceEncoderLoad, query: string, documents: string[]): number[] {
  return referenceRankWithInfo(load, query, documents).result.scores;
}
