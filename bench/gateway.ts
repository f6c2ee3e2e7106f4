// The gateway's overhead on loopback: a `hearth serve --config` process in front of (1) a stand-in OpenAI-compatible
// upstream that answers at once (bench/gateway-upstream.ts), for the latency the gateway adds per request (p50, p99)
// and 200 concurrent streams through one gateway, and (2) a `hearth serve` over stories260K, for streamed tokens/s
// through the gateway vs direct. Each server is its own process; the client is this one.
// Usage: npm run bench:gateway [-- --requests 400 --no-write]

import { parseArgs } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, sharedPath } from '../test/shared.ts';
import { tempDir } from '../test/security/harness.ts';
import { cpuFlags, hearthRevision, machineDescription, writeSection } from './benchmarks-md.ts';

const HEADING = '## Gateway overhead';
const { values } = parseArgs({ options: { requests: { type: 'string', default: '400' }, 'no-write': { type: 'boolean' } } });
const N = Number(values.requests);
const HEARTH = join(REPO_ROOT, 'bin', 'hearth.js');
const children: ChildProcess[] = [];
process.on('exit', () => { for (const c of children) c.kill('SIGTERM'); });

function start(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<string> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error(`${args.join(' ')} did not start: ${out}`)), 60_000).unref();
    const on = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (!m) return;
      // from here on its log is read and dropped (a line per request), not kept and searched
      child.stdout!.off('data', on);
      child.stderr!.off('data', on);
      child.stdout!.resume();
      child.stderr!.resume();
      resolve(m[1]!);
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${out}`)));
  });
}

const home = tempDir('hearth-bench-gw-');
mkdirSync(join(home, 'models'));
const env = { ...process.env, HEARTH_HOME: home, HEARTH_MODELS: join(home, 'models') };
const fakePort = await start([join(REPO_ROOT, 'bench', 'gateway-upstream.ts')], env, /^(\d+)\n/);
const fake = `http://127.0.0.1:${fakePort}`;
// one kernel thread, so that the engine leaves the second core to the client and the gateway
const model = await start([HEARTH, 'serve', sharedPath('models', 'stories260K.gguf'), '--port', '0', '--log-level', 'info', '--max-connections-per-address', '0', '--threads', '1'],
  env, /listening at (http:\/\/127\.0\.0\.1:\d+)/).catch(() => '');
const config = join(home, 'config.yaml');
writeFileSync(config, `providers:\n  fake: { type: openai-compatible, base_url: ${fake}/v1 }\n  engine: { type: openai-compatible, base_url: ${model}/v1 }\n`);
const gateway = await start([HEARTH, 'serve', '--config', config, '--port', '0', '--log-level', 'info', '--max-connections-per-address', '0'], env,
  /listening at (http:\/\/127\.0\.0\.1:\d+)/);

const body = (m: string, stream: boolean, maxTokens: number) => JSON.stringify({ model: m, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: maxTokens, temperature: 0, stream });

/** One request's wall time in ms (to the last byte), and the tokens its stream carried. */
async function once(base: string, m: string, stream: boolean, maxTokens: number): Promise<{ ms: number; tokens: number }> {
  const t0 = performance.now();
  const r = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(m, stream, maxTokens) });
  const text = await r.text();
  const ms = performance.now() - t0;
  if (r.status !== 200) throw new Error(`${base} ${m}: ${r.status} ${text.slice(0, 200)}`);
  const tokens = stream ? (text.match(/"content":"[^"]+"/g) ?? []).length : maxTokens;
  return { ms, tokens };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function latency(stream: boolean): Promise<{ direct: number[]; through: number[] }> {
  const direct: number[] = [];
  const through: number[] = [];
  for (let i = 0; i < 200; i++) {
    await once(fake, 'fast', stream, 16);
    await once(gateway, 'fake/fast', stream, 16);
  }
  // interleaved, so that drift in the machine's load falls on both
  for (let i = 0; i < N; i++) {
    direct.push((await once(fake, 'fast', stream, 16)).ms);
    through.push((await once(gateway, 'fake/fast', stream, 16)).ms);
  }
  return { direct, through };
}

const rows: string[] = [];
const addedP50: number[] = [];
for (const stream of [false, true]) {
  const { direct, through } = await latency(stream);
  const f = (x: number) => x.toFixed(2);
  addedP50.push(pct(through, 50) - pct(direct, 50));
  rows.push(`| ${stream ? 'streamed' : 'one JSON answer'} (16 tokens) | ${f(pct(direct, 50))} | ${f(pct(through, 50))} | **${f(pct(through, 50) - pct(direct, 50))}** | ${f(pct(direct, 99))} | ${f(pct(through, 99))} | ${f(pct(through, 99) - pct(direct, 99))} |`);
}

// Streamed tokens/s from the engine, direct vs through (medians of alternating runs).
const speed: { direct: number[]; through: number[] } = { direct: [], through: [] };
let engineNote = '';
// the gateway's stream path compiled first (a cold one runs several times slower)
for (let i = 0; i < 20; i++) await once(gateway, 'fake/fast', true, 4000);
if (model) {
  for (let i = 0; i < 5; i++) { await once(model, 'stories260K', true, 200); await once(gateway, 'engine/stories260K', true, 200); }
  for (let i = 0; i < 15; i++) {
    const d = await once(model, 'stories260K', true, 200);
    const t = await once(gateway, 'engine/stories260K', true, 200);
    speed.direct.push(d.tokens / (d.ms / 1000));
    speed.through.push(t.tokens / (t.ms / 1000));
  }
} else engineNote = ' (the engine server did not start)';
const median = (xs: number[]) => pct(xs, 50);

// 200 streams at once through one gateway, 40 tokens each 5 ms apart.
const t0 = performance.now();
const results = await Promise.allSettled(Array.from({ length: 200 }, () => once(gateway, 'fake/paced-5', true, 40)));
const wall = performance.now() - t0;
const failed = results.filter((r) => r.status === 'rejected' || r.value.tokens !== 40);
const fastRuns = { direct: [] as number[], through: [] as number[] };
for (let i = 0; i < 9; i++) {
  const d = await once(fake, 'fast', true, 4000);
  const t = await once(gateway, 'fake/fast', true, 4000);
  fastRuns.direct.push(d.tokens / (d.ms / 1000));
  fastRuns.through.push(t.tokens / (t.ms / 1000));
}

const load = loadavg().map((x) => x.toFixed(1)).join(' / ');
const engineRatio = model ? median(speed.through) / median(speed.direct) : undefined;
const out = [
  `\`npm run bench:gateway\` (bench/gateway.ts) on ${machineDescription()} (${cpuFlags()}), hearth ${hearthRevision()}, Node ${process.versions.node}, ` +
    `load average ${load} (1 / 5 / 15 min) at the end of the run: the machine is shared, so the absolute numbers move with it. ` +
    'Three processes on loopback: the client (this script, fetch), a stand-in OpenAI-compatible upstream that answers at once ' +
    '(bench/gateway-upstream.ts), and `hearth serve --config` in front of it; plus `hearth serve stories260K.gguf --threads 1` for the engine row. Each request through the gateway also writes its usage row ' +
    '(SQLite, WAL), as a served request does.',
  '',
  `Added latency per request, ${N} requests each way, interleaved, after 200 warm-up pairs (ms, to the last byte):`,
  '',
  '| request | direct p50 | gateway p50 | added p50 | direct p99 | gateway p99 | added p99 |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows,
  '',
  'Streamed throughput:',
  '',
  '| stream | direct tokens/s | through the gateway tokens/s | ratio |',
  '| --- | ---: | ---: | ---: |',
  ...(model ? [`| stories260K, 200 tokens, median of 15${engineNote} | ${median(speed.direct).toFixed(0)} | ${median(speed.through).toFixed(0)} | ${(median(speed.through) / median(speed.direct)).toFixed(3)} |`] : []),
  `| stand-in upstream, 4000 tokens as fast as it writes them, median of 9 | ${median(fastRuns.direct).toFixed(0)} | ${median(fastRuns.through).toFixed(0)} | ${(median(fastRuns.through) / median(fastRuns.direct)).toFixed(3)} |`,
  '',
  `Concurrency: 200 streams at once through one gateway (40 tokens each, 5 ms apart): ${200 - failed.length} of 200 complete, ` +
    `${failed.length} errors, ${wall.toFixed(0)} ms in all.`,
  '',
  'The gateway parses every upstream SSE event into native events and encodes them again in the client\'s dialect, and a ' +
    'request through it is two HTTP hops on one machine of two cores where client, gateway and upstream compete for the CPU; the ' +
    'stand-in row is the gateway\'s own ceiling (an upstream far faster than any model), the engine row what a model sees. ' +
    `Goals: at most 1 ms added at p50 — ${addedP50.every((x) => x <= 1) ? 'met' : `not met (${addedP50.map((x) => x.toFixed(2)).join(' and ')} ms)`}; at least 0.98x streamed throughput from the engine — ` +
    `${engineRatio === undefined ? 'not measured' : engineRatio >= 0.98 ? `met (${engineRatio.toFixed(3)})` : `not met (${engineRatio.toFixed(3)})`}. ` +
    'The added p50 includes the second loopback hop and the usage row; the streaming ratio falls when the gateway\'s per-event parse and re-encode compete with the engine for the cores.',
].join('\n');

if (!values['no-write']) {
  writeSection(join(REPO_ROOT, 'BENCHMARKS.md'), HEADING, out);
  process.stdout.write(`wrote the "${HEADING}" section of BENCHMARKS.md\n`);
}
process.stdout.write(`${out}\n`);
for (const c of children) c.kill('SIGTERM');
process.exit(failed.length ? 1 : 0);
