// llama.cpp's mtmd (libmtmd through @fugood/llama.node, a test-only package of this folder) as the oracle for the
// vision path: greedy tokens and first-token probabilities for a prompt with images. Runs in a child process (the
// addon logs to stderr and holds its own threads): `node test/reference/mtmd.ts` reads one JSON request on stdin
// and writes one JSON answer on stdout.

import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

export interface MtmdRequest {
  model: string;
  mmproj: string;
  /** Text with `<__media__>` where each image goes. */
  prompt: string;
  images: string[];
  nPredict: number;
  nCtx?: number;
  threads?: number;
  /** Top probabilities of the first generated token (sampled at temperature 1 over the whole vocabulary). */
  nProbs?: number;
  /** How long the child may run (default 300 s). */
  timeoutMs?: number;
}

export interface MtmdAnswer {
  /** The greedy continuation, token by token (their text). */
  pieces: string[];
  text: string;
  /** The first token's top probabilities, from a second, one-token run. */
  probs: { piece: string; prob: number }[];
  promptTokens: number;
  /** The image encode time llama.cpp reported, ms, when it printed one. */
  encodeMs?: number;
}

const HERE = fileURLToPath(import.meta.url);
const ANSWER_MARK = '@@mtmd-answer@@';

export function mtmdUnavailableReason(): string | null {
  try {
    createRequire(HERE)('@fugood/llama.node');
    return null;
  } catch (e) {
    return `@fugood/llama.node does not load: ${(e as Error).message.split('\n')[0]}`;
  }
}

export function requireMtmd(t: TestContext): boolean {
  const reason = mtmdUnavailableReason();
  if (reason === null) return true;
  const message = `llama.cpp mtmd reference unavailable: ${reason}. Install it with \`npm run reference:install\``;
  if (process.env.HEARTH_REQUIRE_REFERENCE === '1') throw new Error(message);
  t.skip(message);
  return false;
}

export function runMtmd(req: MtmdRequest): MtmdAnswer {
  // the addon has been seen to die by a signal mid-generation on a loaded machine (no JSON, status null): such a run
  // says nothing about Hearth, so it is run again, at most twice more; an answer that is wrong is never retried
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = spawnSync(process.execPath, [HERE], { input: JSON.stringify(req), encoding: 'utf8', timeout: req.timeoutMs ?? 300_000, maxBuffer: 64 << 20 });
    const at = r.stdout.lastIndexOf(ANSWER_MARK);
    if (at >= 0) {
      const answer = JSON.parse(r.stdout.slice(at + ANSWER_MARK.length)) as MtmdAnswer;
      const encoded = /image slice encoded in (\d+) ms/.exec(r.stdout + r.stderr);
      return encoded ? { ...answer, encodeMs: Number(encoded[1]) } : answer;
    }
    last = `mtmd reference exited with status ${r.status}, signal ${r.signal ?? 'none'}${r.error ? ` (${r.error.message})` : ''} and no JSON answer.\nstderr:\n${r.stderr.slice(-4000)}`;
    if (r.signal === null || (r.signal === 'SIGTERM' && r.error !== undefined)) break; // an exit with a status, or our own timeout
  }
  throw new Error(last);
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8')) as MtmdRequest;
  const { loadModel } = createRequire(HERE)('@fugood/llama.node');
  const open = async () => {
    const ctx = await loadModel({ model: req.model, n_ctx: req.nCtx ?? 1024, n_gpu_layers: 0, n_threads: req.threads ?? 2, ctx_shift: false });
    if (!ctx.initMultimodal({ path: req.mmproj, use_gpu: false })) throw new Error(`initMultimodal failed for ${req.mmproj}`);
    return ctx;
  };
  // a fresh context per run: greedy output is deterministic that way
  let ctx = await open();
  const greedy = await ctx.completion({ prompt: req.prompt, media_paths: req.images, n_predict: req.nPredict, temperature: 0, top_k: 1, seed: 1, n_probs: 1 });
  await ctx.release();
  let probs: MtmdAnswer['probs'] = [];
  if (req.nProbs) {
    ctx = await open();
    const one = await ctx.completion({
      prompt: req.prompt, media_paths: req.images, n_predict: 1, temperature: 1, top_k: 0, top_p: 1, min_p: 0, seed: 1, n_probs: req.nProbs,
    });
    await ctx.release();
    probs = (one.completion_probabilities?.[0]?.probs ?? []).map((p: { tok_str: string; prob: number }) => ({ piece: p.tok_str, prob: p.prob }));
  }
  const answer: MtmdAnswer = {
    pieces: (greedy.completion_probabilities ?? []).map((p: { content: string }) => p.content),
    text: greedy.text,
    probs,
    promptTokens: greedy.timings?.prompt_n ?? 0,
  };
  process.stdout.write(`\n${ANSWER_MARK}${JSON.stringify(answer)}\n`);
}

if (process.argv[1] === HERE) {
  main().catch((e) => {
    process.stderr.write(String((e as Error).stack ?? e));
    process.exit(1);
  });
}
