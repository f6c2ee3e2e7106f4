// Does a long prompt hold up the server? `hearth serve` on the 1B-class synthetic model (2048 wide, 22 layers,
// bench/engine-models.ts) as a child process: two clients stream, a third polls /health every 50 ms, and once the
// streams are decoding one 2,048-token prompt arrives. Measured while that prompt is evaluated:
//   - /health latency (p50, p99, max): the HTTP thread's event loop;
//   - the longest gap between two tokens of a running stream, against the bound
//     2 × (one prompt chunk + one decode step), from the server's step histogram (hearth_step_duration_seconds:
//     mixed = a chunk next to the decode tokens, decode = decode tokens alone); a server without that metric
//     (older builds) is given chunk = prompt time / ceil(2048 / 512), its fixed 512-token chunks.
// Usage: node bench/event-loop.ts [--type Q4_0] [--threads 2] [--label after] [--hearth path/to/bin/hearth.js]
//        [--chunk-ms 500] [--write]
// Each run appends its row to bench/.cache/event-loop-results.json (by label); --write rewrites the
// "## Event loop under a long prompt" section of BENCHMARKS.md from the stored rows.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../test/shared.ts';
import { benchModelPath, BENCH_CACHE_DIR } from './engine-models.ts';
import { machineDescription, writeSection } from './benchmarks-md.ts';
import { startServeChild, type ServeChild } from './serve-child.ts';

const HEADING = '## Event loop under a long prompt';
const RESULTS = join(BENCH_CACHE_DIR, 'event-loop-results.json');
const { values: v } = parseArgs({
  options: {
    type: { type: 'string', default: 'Q4_0' },
    threads: { type: 'string', default: '2' },
    label: { type: 'string', default: 'after' },
    hearth: { type: 'string', default: join(REPO_ROOT, 'bin', 'hearth.js') },
    'chunk-ms': { type: 'string' },
    'prompt-tokens': { type: 'string', default: '2048' },
    write: { type: 'boolean', default: false },
    'report-only': { type: 'boolean', default: false },
  },
});
const PROMPT = Number(v['prompt-tokens']);
const POLL_MS = 50;

interface Row {
  label: string;
  date: string;
  machine: string;
  load: string;
  threads: number;
  promptS: number;
  healthP50: number;
  healthP99: number;
  healthMax: number;
  polls: number;
  gapMax: number;
  decodeMs: number;
  chunkMs: number;
  chunkSource: string;
  bound: number;
  tokensDuring: number;
}

function log(msg: string): void {
  process.stderr.write(`[event-loop] ${msg}\n`);
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

function startServer(model: string): Promise<ServeChild> {
  return startServeChild(v.hearth!, [model, '--alias', 'm', '--parallel', '3', '--ctx', String(PROMPT + 256),
    '--threads', v.threads!, '--backend', 'cpu', '--timeout', '0', ...(v['chunk-ms'] ? ['--chunk-ms', v['chunk-ms']] : [])]);
}

/** A stream of completions tokens: the arrival time of each SSE chunk that carries text. */
function stream(base: string, seed: number, signal: AbortSignal, times: number[]): Promise<void> {
  return (async () => {
    const res = await fetch(`${base}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, signal,
      body: JSON.stringify({ model: 'm', prompt: `Story ${seed}:`, max_tokens: 100000, temperature: 1, seed, stream: true, logit_bias: { 2: -100 } }),
    });
    if (res.status !== 200) throw new Error(`stream: HTTP ${res.status} ${await res.text()}`);
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) {
      const text = decoder.decode(chunk, { stream: true });
      for (const frame of text.split('\n\n')) if (frame.startsWith('data: {')) times.push(performance.now());
    }
  })().catch((e: Error) => {
    if (e.name !== 'AbortError') throw e;
  });
}

async function metricSums(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^hearth_step_duration_seconds_(sum|count)\{kind="(\w+)"\} (\S+)$/gm)) out.set(`${m[2]}_${m[1]}`, Number(m[3]));
  return out;
}

async function measure(): Promise<Row> {
  const model = benchModelPath(v.type!);
  const load0 = loadavg()[0];
  const { base, stop } = await startServer(model);
  try {
    const ac = new AbortController();
    const times: number[][] = [[], []];
    const streams = times.map((t, i) => stream(base, i + 1, ac.signal, t));
    while (times.some((t) => t.length < 6)) await new Promise((r) => setTimeout(r, 20));
    const before = await metricSums(base);

    const health: { at: number; ms: number }[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const t0 = performance.now();
        const r = await fetch(`${base}/health`);
        await r.text();
        health.push({ at: t0, ms: performance.now() - t0 });
        await new Promise((res) => setTimeout(res, POLL_MS));
      }
    })();
    await new Promise((r) => setTimeout(r, 500));
    const prompt = Array.from({ length: PROMPT }, (_, i) => 100 + ((i * 7919) % 30000));
    log(`${PROMPT}-token prompt`);
    const p0 = performance.now();
    const res = await fetch(`${base}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', prompt, max_tokens: 1, temperature: 0 }),
    });
    if (res.status !== 200) throw new Error(`long prompt: HTTP ${res.status} ${await res.text()}`);
    await res.json();
    const p1 = performance.now();
    const after = await metricSums(base);
    polling = false;
    await poller;
    ac.abort();
    await Promise.all(streams);

    const during = health.filter((h) => h.at >= p0 && h.at <= p1).map((h) => h.ms);
    let gapMax = 0;
    let tokensDuring = 0;
    for (const t of times) {
      for (let i = 1; i < t.length; i++) {
        if (t[i] < p0 || t[i - 1] > p1) continue;
        gapMax = Math.max(gapMax, t[i] - t[i - 1]);
        tokensDuring++;
      }
    }
    const delta = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    let decodeMs: number;
    let chunkMs: number;
    let chunkSource: string;
    if (after.has('decode_count')) {
      decodeMs = (after.get('decode_sum')! / after.get('decode_count')!) * 1000;
      const mixed = delta('mixed_count') + delta('prompt_count');
      chunkMs = ((delta('mixed_sum') + delta('prompt_sum')) / mixed) * 1000 - decodeMs;
      chunkSource = `step histogram (${mixed} chunks)`;
    } else {
      const gaps = times.flatMap((t) => t.slice(1).map((x, i) => ({ at: x, gap: x - t[i] }))).filter((g) => g.at < p0).map((g) => g.gap);
      decodeMs = quantile(gaps, 0.5);
      const chunks = Math.ceil(PROMPT / 512);
      chunkMs = (p1 - p0) / chunks - decodeMs;
      chunkSource = `prompt time / ${chunks}`;
    }
    return {
      label: v.label!, date: new Date().toISOString().slice(0, 10), machine: machineDescription(),
      load: `${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}`, threads: Number(v.threads), promptS: (p1 - p0) / 1000,
      healthP50: quantile(during, 0.5), healthP99: quantile(during, 0.99), healthMax: Math.max(...during), polls: during.length,
      gapMax, decodeMs, chunkMs, chunkSource, bound: 2 * (chunkMs + decodeMs), tokensDuring,
    };
  } finally {
    stop();
  }
}

function report(rows: Row[]): string {
  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '—');
  const lines = [
    `Regenerate with \`node bench/event-loop.ts --label after --write\` (and \`--hearth <older checkout>/bin/hearth.js --label before\`).`,
    `bench/event-loop.ts: \`hearth serve\` on the 1B-class synthetic ${v.type} model (2048 wide, 22 layers, bench/engine-models.ts),`,
    `\`--parallel 3 --threads ${v.threads} --backend cpu\`, as a child process on loopback. Two clients stream completions, a third polls`,
    `/health every ${POLL_MS} ms; once the streams decode, one ${PROMPT}-token prompt arrives. Figures are over the time that prompt is`,
    'evaluated. Target: /health p99 ≤ 50 ms, and the longest gap between two tokens of a stream ≤ 2 × (one prompt chunk + one',
    'decode step).',
    '',
    '| build | date | machine (load avg) | prompt s | /health p50 ms | /health p99 ms | /health max ms | polls | longest token gap ms | decode step ms | prompt chunk ms (from) | bound ms | within |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows.map((r) => `| ${r.label} | ${r.date} | ${r.machine} (${r.load}) | ${f(r.promptS, 1)} | ${f(r.healthP50, 1)} | ${f(r.healthP99, 1)} | ` +
      `${f(r.healthMax)} | ${r.polls} | ${f(r.gapMax)} | ${f(r.decodeMs)} | ${f(r.chunkMs)} (${r.chunkSource}) | ${f(r.bound)} | ` +
      `${r.healthP99 <= 50 && r.gapMax <= r.bound ? 'yes' : 'no'} |`),
  ];
  return lines.join('\n');
}

const stored: Row[] = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, 'utf8')) : [];
if (!v['report-only']) {
  const row = await measure();
  log(JSON.stringify(row));
  const i = stored.findIndex((r) => r.label === row.label);
  if (i >= 0) stored[i] = row;
  else stored.push(row);
  mkdirSync(BENCH_CACHE_DIR, { recursive: true });
  writeFileSync(RESULTS, JSON.stringify(stored, null, 2));
}
const table = report(stored);
console.log(table);
if (v.write) writeSection(join(REPO_ROOT, 'BENCHMARKS.md'), HEADING, table);
