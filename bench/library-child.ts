// One measurement of bench/library.ts in a fresh process, printed as one JSON line on stdout:
//   node bench/library-child.ts mem hearth|llama MODEL NCTX THREADS
//     resident memory (VmRSS, split into anonymous and file-backed) before the load, after the load, and after
//     one request that fills the context (NCTX-1 prompt tokens, one decoded), plus the peak (VmHWM)
//   node bench/library-child.ts ttft hearth|llama MODEL NCTX THREADS
//     milliseconds from the load call to the first streamed token of a short prompt
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../test/shared.ts';

const [mode, engine, model, nCtxArg, threadsArg] = process.argv.slice(2);
const nCtx = Number(nCtxArg);
const threads = Number(threadsArg);
const PROMPT = 'Once upon a time, in a small village by the sea, there lived';

interface Resident { rss: number; anon: number; file: number; hwm: number }

/** Bytes from /proc/self/status (kB there). */
function resident(): Resident {
  const s = readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem'), hwm: kb('VmHWM') };
}

/** Prompt ids: ordinary tokens of the vocabulary, no specials (the BPE tokens are ids 0-127999). */
function fillTokens(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 1000 + ((i * 7919) % 100000));
}

async function hearth(): Promise<Record<string, unknown>> {
  const { localProvider } = await import('../src/provider/local-provider.ts');
  const greedy = { temperature: 0 };
  const before = resident();
  const t0 = performance.now();
  const provider = await localProvider({ path: model, load: { nCtx, threads, backend: 'cpu' } },
    { scheduler: { parallel: 1, queueLimit: 4, timeoutMs: 3_600_000 } })();
  const loadMs = performance.now() - t0;
  const afterLoad = resident();
  const prompts = mode === 'mem' ? [{ kind: 'tokens' as const, tokens: fillTokens(nCtx - 1) }] : [{ kind: 'text' as const, text: PROMPT }];
  const gen = await provider.generate({
    model: provider.card.id, prompts, n: 1, maxTokens: mode === 'mem' ? 1 : 8, sampling: greedy, stop: [], stream: true,
  });
  let firstMs = NaN;
  const t1 = performance.now();
  for await (const ev of gen.events) {
    if (ev.type === 'delta' && ev.tokens.length > 0 && Number.isNaN(firstMs)) {
      firstMs = performance.now() - t0;
      if (mode === 'ttft') break;
    }
  }
  const requestMs = performance.now() - t1;
  const after = resident();
  provider.close();
  return { loadMs, firstTokenMs: firstMs, requestMs, before, afterLoad, after };
}

interface Seq { evaluate(tokens: number[], opts: Record<string, unknown>): AsyncGenerator<number> }
interface LlamaModel {
  tokenize(text: string): number[];
  createContext(o: Record<string, unknown>): Promise<{ getSequence(): Seq; dispose(): Promise<void> }>;
}

async function llama(): Promise<Record<string, unknown>> {
  const modules = join(REPO_ROOT, 'test', 'reference', 'node_modules');
  const before = resident();
  const t0 = performance.now();
  const nlc = (await import(pathToFileURL(join(modules, 'node-llama-cpp', 'dist', 'index.js')).href)) as {
    getLlama(o: Record<string, unknown>): Promise<{ loadModel(o: Record<string, unknown>): Promise<LlamaModel> }>;
  };
  const lib = await nlc.getLlama({ gpu: false, build: 'never', skipDownload: true, usePrebuiltBinaries: true, progressLogs: false, maxThreads: 0, logLevel: 'error' });
  const m = await lib.loadModel({ modelPath: model, gpuLayers: 0 });
  const ctx = await m.createContext({ contextSize: nCtx, batchSize: Math.min(512, nCtx), sequences: 1, threads: { ideal: threads, min: threads } });
  const loadMs = performance.now() - t0;
  const afterLoad = resident();
  const tokens = mode === 'mem' ? fillTokens(nCtx - 1) : m.tokenize(PROMPT);
  let firstMs = NaN;
  const t1 = performance.now();
  for await (const _ of ctx.getSequence().evaluate(tokens, { temperature: 0 })) {
    firstMs = performance.now() - t0;
    break;
  }
  const requestMs = performance.now() - t1;
  const after = resident();
  return { loadMs, firstTokenMs: firstMs, requestMs, before, afterLoad, after };
}

const r = engine === 'hearth' ? await hearth() : await llama();
process.stdout.write(`${JSON.stringify({ mode, engine, model, nCtx, threads, ...r })}\n`);
process.exit(0);
