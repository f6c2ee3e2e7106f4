// One engine's runs of bench/grammar-decode.ts in a fresh process, printed as one JSON line on stdout:
//   node bench/grammar-decode-child.ts hearth|llama MODEL TOKENS REPS THREADS
// Loads MODEL once, then REPS times: one greedy decode of TOKENS tokens without a grammar and one under the
// JSON schema of grammar-decode-schema.ts. Each run reports the arrival time of every token, so the caller
// can take decode alone (first token to last: prefill, load and the grammar's setup excluded).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../test/shared.ts';
import { SCHEMA, PROMPT } from './grammar-decode-schema.ts';

const [engine, model, tokensArg, repsArg, threadsArg] = process.argv.slice(2);
const nTokens = Number(tokensArg);
const reps = Number(repsArg);
const threads = Number(threadsArg);
const N_CTX = 512;

export interface DecodeRun { grammar: boolean; text: string; tokens: number; firstMs: number; times: number[] }

async function hearth(): Promise<DecodeRun[]> {
  const { localProvider } = await import('../src/provider/local-provider.ts');
  const { jsonSchemaToGbnf } = await import('../src/engine/sampler/index.ts');
  const gbnf = jsonSchemaToGbnf(SCHEMA);
  const provider = await localProvider({ path: model, load: { nCtx: N_CTX, threads, backend: 'cpu' } },
    { scheduler: { parallel: 1, queueLimit: 4, timeoutMs: 3_600_000 } })();
  const runs: DecodeRun[] = [];
  for (let r = 0; r < reps; r++) {
    for (const grammar of [false, true]) {
      const t0 = performance.now();
      const gen = await provider.generate({
        model: provider.card.id, prompts: [{ kind: 'text', text: PROMPT }], n: 1, maxTokens: nTokens,
        sampling: grammar ? { temperature: 0, grammar: gbnf } : { temperature: 0 }, stop: [], stream: true,
      });
      const times: number[] = [];
      let text = '';
      for await (const ev of gen.events) {
        if (ev.type !== 'delta') continue;
        const t = performance.now() - t0;
        for (let i = 0; i < ev.tokens.length; i++) times.push(t);
        text += ev.text;
      }
      runs.push({ grammar, text, tokens: times.length, firstMs: times[0] ?? NaN, times });
    }
  }
  provider.close();
  return runs;
}

interface Seq {
  evaluate(tokens: number[], opts: Record<string, unknown>): AsyncGenerator<number>;
  clearHistory(): Promise<void>;
}
interface LlamaModel {
  tokenize(text: string): number[];
  detokenize(tokens: number[]): string;
  tokens: { bos: number | null; shouldPrependBosToken: boolean };
  createContext(o: Record<string, unknown>): Promise<{ getSequence(): Seq; dispose(): Promise<void> }>;
}
interface Nlc {
  getLlama(o: Record<string, unknown>): Promise<{
    loadModel(o: Record<string, unknown>): Promise<LlamaModel>;
    createGrammarForJsonSchema(schema: unknown): Promise<unknown>;
  }>;
  LlamaGrammarEvaluationState: new (o: { model: LlamaModel; grammar: unknown }) => unknown;
}

async function llama(): Promise<DecodeRun[]> {
  const modules = join(REPO_ROOT, 'test', 'reference', 'node_modules');
  const nlc = (await import(pathToFileURL(join(modules, 'node-llama-cpp', 'dist', 'index.js')).href)) as Nlc;
  const lib = await nlc.getLlama({ gpu: false, build: 'never', skipDownload: true, usePrebuiltBinaries: true, progressLogs: false, maxThreads: 0, logLevel: 'error' });
  const m = await lib.loadModel({ modelPath: model, gpuLayers: 0 });
  const ctx = await m.createContext({ contextSize: N_CTX, batchSize: N_CTX, sequences: 1, threads: { ideal: threads, min: threads } });
  const seq = ctx.getSequence();
  const grammar = await lib.createGrammarForJsonSchema(SCHEMA);
  const prompt = m.tokenize(PROMPT);
  if (m.tokens.shouldPrependBosToken && m.tokens.bos !== null) prompt.unshift(m.tokens.bos);
  const runs: DecodeRun[] = [];
  for (let r = 0; r < reps; r++) {
    for (const g of [false, true]) {
      await seq.clearHistory();
      const state = g ? new nlc.LlamaGrammarEvaluationState({ model: m, grammar }) : undefined;
      const out: number[] = [];
      const times: number[] = [];
      const t0 = performance.now();
      for await (const id of seq.evaluate(prompt, { temperature: 0, grammarEvaluationState: state })) {
        times.push(performance.now() - t0);
        out.push(id);
        if (out.length >= nTokens) break;
      }
      runs.push({ grammar: g, text: m.detokenize(out), tokens: out.length, firstMs: times[0] ?? NaN, times });
    }
  }
  await ctx.dispose();
  return runs;
}

const runs = engine === 'hearth' ? await hearth() : await llama();
process.stdout.write(`${JSON.stringify({ engine, model, runs })}\n`);
process.exit(0);
