// Load test of `hearth serve` on loopback: starts the server as a child process (so the client's HTTP work does
// not share its event loop), then
//   1. C concurrent streaming chat requests (default 32): every one must finish without an error;
//   2. one stream alone, then P concurrent streams (default 8): aggregate generated tokens/s and the ratio.
// End-of-text is banned through logit_bias so that every stream generates exactly N tokens.
//
// Usage: node bench/serve-load.ts [--model PATH] [--parallel 8] [--concurrent 32] [--tokens 256] [--backend B] [--threads N] [--repeats 3]
// Prints a Markdown table. Bounded: every request has a deadline, and the server is stopped at the end.

import { parseArgs } from 'node:util';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg } from 'node:os';
import { loadModel } from '../src/engine/load.ts';
import type { BackendName } from '../src/engine/types.ts';
import { Scheduler } from '../src/engine/scheduler.ts';
import { startServeChild, type ServeChild } from './serve-child.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: v } = parseArgs({
  options: {
    model: { type: 'string', default: resolve(root, process.env.HEARTH_SHARED ?? '../shared', 'models/stories260K.gguf') },
    parallel: { type: 'string', default: '8' },
    concurrent: { type: 'string', default: '32' },
    tokens: { type: 'string', default: '256' },
    backend: { type: 'string' },
    repeats: { type: 'string', default: '3' },
    threads: { type: 'string' },
  },
});
const PARALLEL = Number(v.parallel);
const CONCURRENT = Number(v.concurrent);
const TOKENS = Number(v.tokens);
const DEADLINE_MS = 120_000;
const REPEATS = Number(v.repeats);

function startServer(): Promise<ServeChild> {
  return startServeChild(resolve(root, 'bin/hearth.js'), [v.model!, '--parallel', String(PARALLEL), '--queue', String(CONCURRENT * 2),
    ...(v.backend ? ['--backend', v.backend] : []), ...(v.threads ? ['--threads', v.threads] : [])]);
}

interface StreamResult {
  tokens: number;
  ttftMs: number;
  ms: number;
  error?: string;
}

/** One streaming chat completion, read as SSE; its token count comes from the usage chunk. */
async function stream(base: string, i: number, eos: number): Promise<StreamResult> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(DEADLINE_MS),
      body: JSON.stringify({
        model: MODEL_ID, messages: [{ role: 'user', content: `Once upon a time, story number ${i}` }], max_tokens: TOKENS,
        temperature: 0.8, seed: i, stream: true, stream_options: { include_usage: true }, logit_bias: { [eos]: -100 },
      }),
    });
    if (res.status !== 200) return { tokens: 0, ttftMs: 0, ms: 0, error: `HTTP ${res.status}: ${await res.text()}` };
    let ttft = 0;
    let tokens = 0;
    let done = false;
    let buf = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) {
      buf += decoder.decode(chunk, { stream: true });
      let at;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const data = frame.replace(/^data: /, '');
        if (data === '[DONE]') { done = true; continue; }
        // parse only the frames that matter, so the client takes little CPU from the server on a small machine
        if (!ttft && data.includes('"content":"') && !data.includes('"content":""')) ttft = performance.now() - t0;
        if (!data.includes('"usage":{') && !data.startsWith('{"error"')) continue;
        const obj = JSON.parse(data);
        if (obj.error) return { tokens, ttftMs: ttft, ms: performance.now() - t0, error: obj.error.message };
        if (obj.usage) tokens = obj.usage.completion_tokens;
      }
    }
    return { tokens, ttftMs: ttft, ms: performance.now() - t0, error: done ? undefined : 'stream ended without [DONE]' };
  } catch (e) {
    return { tokens: 0, ttftMs: 0, ms: performance.now() - t0, error: (e as Error).message };
  }
}

async function wave(base: string, n: number, eos: number, offset: number) {
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: n }, (_, i) => stream(base, offset + i, eos)));
  const wall = performance.now() - t0;
  const tokens = results.reduce((s, r) => s + r.tokens, 0);
  const ttfts = results.map((r) => r.ttftMs).sort((a, b) => a - b);
  return {
    n, wall, tokens, tps: tokens / (wall / 1000), errors: results.filter((r) => r.error),
    ttftP50: ttfts[Math.floor(n / 2)], ttftMax: ttfts[n - 1],
  };
}

/** The same waves straight into the scheduler in this process: engine + batching without HTTP, for comparison. */
async function schedulerOnly(): Promise<{ one: number; many: number }> {
  const model = loadModel(v.model!, { backend: v.backend as BackendName | undefined, threads: v.threads ? Number(v.threads) : undefined });
  const sched = new Scheduler(model, { parallel: PARALLEL, queueLimit: 0 });
  const eos = model.tokenizer.eosId;
  const run = (n: number, offset: number) => new Promise<number>((done) => {
    const t0 = performance.now();
    let open = n;
    sched.submit(Array.from({ length: n }, (_, i) => ({
      prompt: model.tokenizer.encode(`Once upon a time, story number ${offset + i}`), maxTokens: TOKENS,
      sampling: { temperature: 0.8, seed: offset + i, logitBias: [[eos, -100]] }, stop: [],
    })), (_i, ev) => {
      if ((ev.type === 'done' || ev.type === 'error') && --open === 0) done((n * TOKENS) / ((performance.now() - t0) / 1000));
    });
  });
  await run(PARALLEL, 1000);
  let one = 0;
  let many = 0;
  for (let r = 0; r < REPEATS; r++) {
    one = Math.max(one, await run(1, 100 + r));
    many = Math.max(many, await run(PARALLEL, 200 + r * PARALLEL));
  }
  sched.close();
  return { one, many };
}

const direct = await schedulerOnly();
const server = await startServer();
let MODEL_ID = '';
try {
  // the model's end-of-text token, from /api/show (tokenizer.ggml.eos_token_id)
  const models = await (await fetch(`${server.base}/v1/models`)).json() as { data: { id: string }[] };
  const info = await (await fetch(`${server.base}/api/show`, { method: 'POST', body: JSON.stringify({ model: models.data[0].id }) })).json() as { model_info: Record<string, number> };
  const eos = info.model_info['tokenizer.ggml.eos_token_id'];
  MODEL_ID = models.data[0].id;
  await wave(server.base, PARALLEL, eos, 1000); // warm-up: JIT and the engine's buffers
  const load = await wave(server.base, CONCURRENT, eos, 0);
  // 1 and P streams alternate, best of REPEATS each: the machine may be shared, and a slow round is noise
  type Wave = Awaited<ReturnType<typeof wave>>;
  let one: Wave | undefined;
  let many: Wave | undefined;
  for (let r = 0; r < REPEATS; r++) {
    const a = await wave(server.base, 1, eos, 100 + r);
    const b = await wave(server.base, PARALLEL, eos, 200 + r * PARALLEL);
    if (!one || a.tps > one.tps) one = a;
    if (!many || b.tps > many.tps) many = b;
  }
  const row = (name: string, w: typeof load) =>
    `| ${name} | ${w.n} | ${w.tokens} | ${(w.wall / 1000).toFixed(2)} | ${w.tps.toFixed(0)} | ${w.ttftP50.toFixed(0)} | ${w.ttftMax.toFixed(0)} | ${w.errors.length} |`;
  process.stdout.write([
    `hearth serve load test: ${models.data[0].id}, backend ${v.backend ?? 'default'}${v.threads ? `, ${v.threads} threads` : ''}, --parallel ${PARALLEL}, ${TOKENS} tokens per stream, ${cpus().length} CPUs, Node ${process.version}`,
    '',
    '| wave | streams | tokens | wall s | aggregate tok/s | TTFT p50 ms | TTFT max ms | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    row(`${CONCURRENT} concurrent`, load),
    row(`1 stream (best of ${REPEATS})`, one!),
    row(`${PARALLEL} concurrent (best of ${REPEATS})`, many!),
    '',
    `${PARALLEL} streams vs 1: ${(many!.tps / one!.tps).toFixed(2)}x aggregate tokens/s`,
    '',
    `Scheduler alone in this process (no HTTP, best of ${REPEATS}): 1 stream ${direct.one.toFixed(0)} tok/s, ` +
      `${PARALLEL} streams ${direct.many.toFixed(0)} tok/s: ${(direct.many / direct.one).toFixed(2)}x. ` +
      `Load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}.`,
    '',
  ].join('\n'));
  for (const e of [...load.errors, ...one!.errors, ...many!.errors]) process.stdout.write(`error: ${e.error}\n`);
  process.exitCode = load.errors.length + one!.errors.length + many!.errors.length > 0 ? 1 : 0;
} finally {
  server.stop();
}
