// Prefix affinity vs round robin through the gateway: two `hearth serve stories260K.gguf` replicas and a
// `hearth serve --config` gateway with one `type: hearth` provider over both per routing policy (prefix, round_robin).
// A 20-turn conversation (each turn streams and sends the whole history again) runs through each, alternately, on
// fresh conversations per repetition; per policy: time to first token, tokens/s, and the prompt tokens the replicas
// report as reused from their cache (usage.prompt_tokens_details.cached_tokens). Each server is its own process.
// Usage: npm run bench:affinity [-- --reps 3 --no-write]

import { parseArgs } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, sharedPath } from '../test/shared.ts';
import { tempDir } from '../test/security/harness.ts';
import { hearthRevision, machineDescription, writeSection } from './benchmarks-md.ts';

const HEADING = '## Gateway prefix affinity';
const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' }, turns: { type: 'string', default: '20' }, 'no-write': { type: 'boolean' } } });
const REPS = Number(values.reps);
const TURNS = Number(values.turns);
const MAX_TOKENS = 24;
const HEARTH = join(REPO_ROOT, 'bin', 'hearth.js');
const children: ChildProcess[] = [];
process.on('exit', () => { for (const c of children) c.kill('SIGTERM'); });
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(1));

function start(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error(`${args.join(' ')} did not start: ${out}`)), 60_000).unref();
    const on = (d: Buffer) => {
      out += d.toString();
      const m = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (!m) return;
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

const home = tempDir('hearth-bench-affinity-');
mkdirSync(join(home, 'models'));
const env = { ...process.env, HEARTH_HOME: home, HEARTH_MODELS: join(home, 'models') };
const serveArgs = [HEARTH, 'serve', sharedPath('models', 'stories260K.gguf'), '--port', '0', '--log-level', 'info', '--threads', '1', '--ctx', '4096', '--parallel', '2'];
const replicas = await Promise.all([start(serveArgs, env), start(serveArgs, env)]);
const config = join(home, 'config.yaml');
writeFileSync(config, `providers:\n  prefix: { type: hearth, base_url: [${replicas.join(', ')}], routing: prefix }\n` +
  `  round_robin: { type: hearth, base_url: [${replicas.join(', ')}], routing: round_robin }\n`);
const gateway = await start([HEARTH, 'serve', '--config', config, '--port', '0', '--log-level', 'info', '--max-connections-per-address', '0'], env);

interface Turn {
  ttftMs: number;
  ms: number;
  prompt: number;
  cached: number;
  completion: number;
}

/** One streamed turn: time to the first content, to the end, and the usage of the last chunk. */
async function turn(model: string, messages: { role: string; content: string }[]): Promise<Turn & { text: string }> {
  const t0 = performance.now();
  const r = await fetch(`${gateway}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages, max_tokens: MAX_TOKENS, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  if (r.status !== 200) throw new Error(`${model}: ${r.status} ${await r.text()}`);
  const decoder = new TextDecoder();
  let buffered = '';
  let text = '';
  let ttftMs = NaN;
  let usage: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens?: number } } | undefined;
  for await (const chunk of r.body!) {
    buffered += decoder.decode(chunk as Uint8Array, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 2);
      const data = /^data: (.*)$/m.exec(event)?.[1];
      if (!data || data === '[DONE]') continue;
      const j = JSON.parse(data) as { choices?: { delta?: { content?: string } }[]; usage?: typeof usage };
      const piece = j.choices?.[0]?.delta?.content;
      if (piece) {
        if (Number.isNaN(ttftMs)) ttftMs = performance.now() - t0;
        text += piece;
      }
      if (j.usage) usage = j.usage;
    }
  }
  if (!usage) throw new Error(`${model}: no usage in the stream`);
  return { ttftMs, ms: performance.now() - t0, prompt: usage.prompt_tokens, cached: usage.prompt_tokens_details?.cached_tokens ?? 0, completion: usage.completion_tokens, text };
}

// user messages: successive pieces of a book of the shared data, from well past its front matter
const STORY = readFileSync(sharedPath('text', 'war-and-peace.txt'), 'utf8').slice(50_000, 400_000).replace(/\s+/g, ' ');

/** A fresh `TURNS`-turn conversation through `model`; user messages are successive 120-character pieces of the book. */
async function conversation(model: string, seed: number): Promise<Turn[]> {
  const messages: { role: string; content: string }[] = [];
  const out: Turn[] = [];
  for (let t = 0; t < TURNS; t++) {
    const at = ((seed * TURNS + t) * 120) % Math.max(1, STORY.length - 120);
    messages.push({ role: 'user', content: `${t === 0 ? `Story ${seed}. ` : ''}${STORY.slice(at, at + 120)}` });
    const r = await turn(model, messages);
    messages.push({ role: 'assistant', content: r.text });
    out.push(r);
  }
  return out;
}

const policies = ['prefix', 'round_robin'] as const;
const runs: Record<typeof policies[number], Turn[][]> = { prefix: [], round_robin: [] };
// warm-up: each policy's path compiled once
for (const p of policies) await conversation(`${p}/stories260K`, 1000 + policies.indexOf(p));
// alternating, so that drift in the machine's load falls on both
for (let rep = 0; rep < REPS; rep++) {
  for (const p of policies) runs[p].push(await conversation(`${p}/stories260K`, rep * 2 + policies.indexOf(p)));
}

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((q / 100) * s.length))]!;
};
const rows = policies.map((p) => {
  const turns = runs[p].flat();
  const sum = (f: (t: Turn) => number) => turns.reduce((s, t) => s + f(t), 0);
  const late = runs[p].flatMap((c) => c.slice(TURNS / 2));
  const tokensPerS = sum((t) => t.completion) / (sum((t) => t.ms) / 1000);
  return `| ${p} | ${pct(turns.map((t) => t.ttftMs), 50).toFixed(1)} | ${pct(turns.map((t) => t.ttftMs), 90).toFixed(1)} | ` +
    `${pct(late.map((t) => t.ttftMs), 50).toFixed(1)} | ${tokensPerS.toFixed(0)} | ${sum((t) => t.prompt)} | ${sum((t) => t.cached)} | ` +
    `${(100 * sum((t) => t.cached) / sum((t) => t.prompt)).toFixed(1)} % | ${sum((t) => t.prompt - t.cached)} |`;
});

const flags = /^flags\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.split(/\s+/) ?? [];
const avx512 = flags.filter((f) => f.startsWith('avx512'));
const load = loadavg().map((x) => x.toFixed(1)).join(' / ');
const lastPrompt = runs.prefix[0]!.at(-1)!.prompt;
const out = [
  `\`npm run bench:affinity\` (bench/affinity.ts) on ${machineDescription()} (${avx512.length ? `AVX-512: ${avx512.join(' ')}` : 'no AVX-512'}), ` +
    `hearth ${hearthRevision()}, Node ${process.versions.node}, load average ${load} (1 / 5 / 15 min) at the end of the run: the machine is shared, ` +
    'so the absolute numbers move with it.',
  '',
  `Two replicas \`hearth serve stories260K.gguf --threads 1 --ctx 4096 --parallel 2\` behind a \`hearth serve --config\` gateway whose ` +
    '`type: hearth` provider lists both, once with `routing: prefix` and once with `routing: round_robin`; four processes on loopback, the client ' +
    `is this script (fetch, streamed, with usage). A conversation is ${TURNS} turns; each turn sends the whole history again (a 120-character user ` +
    `message per turn, ${MAX_TOKENS} generated tokens, greedy), up to ${lastPrompt} prompt tokens at its last turn. ${REPS} fresh conversations per policy, ` +
    'alternating prefix and round robin, after one warm-up conversation each. Cached tokens are what the replicas report in ' +
    '`usage.prompt_tokens_details.cached_tokens` (prompt tokens whose K/V a slot already held); tokens/s is generated tokens over the turns\' wall time, ' +
    'time to first token (TTFT) is to the first streamed content, in ms.',
  '',
  `| routing | TTFT p50 | TTFT p90 | TTFT p50, turns ${TURNS / 2 + 1}-${TURNS} | tokens/s | prompt tokens | cached tokens | cached share | prompt tokens evaluated |`,
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows,
  '',
  'With prefix routing every turn of a conversation goes to the replica that served its previous turn, whose slot holds that turn\'s prompt, so ' +
    'only the new messages are evaluated. Round robin alternates replicas: each replica\'s slot holds the conversation as it was two turns before, ' +
    'so two turns of messages are evaluated each time; with other traffic on the replicas the round-robin cache would more often be gone. ' +
    'TTFT follows the evaluated-token column (prompt evaluation on one thread of a loaded machine), and tokens/s, which counts each turn\'s ' +
    'whole wall time, follows TTFT.',
].join('\n');

process.stdout.write(`${out}\n`);
if (!values['no-write']) writeSection(join(REPO_ROOT, 'BENCHMARKS.md'), HEADING, out);
process.exit(0);
