// HTTP fuzz smoke test: random and hostile JSON into every POST endpoint of every dialect (wrong types, deep nesting,
// huge numbers, NaN and Infinity, lone surrogates, null bytes, oversized strings, arrays and maps), a few at a time.
// No 5xx but real overload, no request over its time budget, /health answering throughout, and the same greedy
// output after as before. (/api/pull, /api/push, /api/create and /api/copy are left out: they reach the network or
// write the library.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startServer, STORIES } from './harness.ts';
import { SeededRandom } from '../fixtures/seeded-random.ts';
import { tempDir } from '../security/harness.ts';
import { REPO_ROOT } from '../shared.ts';

/**
 * HEARTH_HTTP_FUZZ_SECONDS runs it longer (default 12 s, at most 1,500 requests; longer runs have no cap), against
 * `hearth serve` in a process of its own, so that its resident memory is the server's alone (in this process the
 * fuzzing client's own buffers and connections would count too).
 */
const SECONDS = Number(process.env.HEARTH_HTTP_FUZZ_SECONDS ?? 12);
const LONG = process.env.HEARTH_HTTP_FUZZ_SECONDS !== undefined;
const MAX_REQUESTS = LONG ? Infinity : 1500;

let srv: { base: string; close: () => Promise<void>; rss: () => number };
before(async () => {
  if (!LONG) {
    const s = await startServer({ parallel: 2, queueLimit: 8, app: { bodyLimit: 1024 * 1024 } });
    srv = { base: s.base, close: () => s.close(), rss: () => process.memoryUsage().rss };
    return;
  }
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as { port: number }).port;
      probe.close(() => resolve(p));
    });
  });
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'hearth.js'), 'serve', STORIES, '--port', String(port),
    '--parallel', '2', '--queue', '8', '--body-limit', String(1024 * 1024), '--log-level', 'warn'],
  { env: { ...process.env, HEARTH_DB: join(tempDir('http-fuzz'), 'hearth.db') }, stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch { /* not up yet */ }
    if (i > 600) throw new Error('hearth serve did not come up');
    await new Promise((r) => setTimeout(r, 50));
  }
  srv = {
    base,
    close: async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); },
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024,
  };
});
after(() => srv.close());

const M = 'stories260K';
const MSGS = [{ role: 'user', content: 'Once upon a time' }];
const BASES: [string, Record<string, unknown>][] = [
  ['/v1/chat/completions', { model: M, messages: MSGS, max_tokens: 4 }],
  ['/v1/completions', { model: M, prompt: 'Once upon a time', max_tokens: 4 }],
  ['/v1/embeddings', { model: M, input: 'Once upon a time' }],
  ['/v1/messages', { model: M, max_tokens: 4, messages: MSGS }],
  ['/v1/messages/count_tokens', { model: M, messages: MSGS }],
  ['/api/generate', { model: M, prompt: 'Once upon a time', stream: false, options: { num_predict: 4 } }],
  ['/api/chat', { model: M, messages: MSGS, stream: false, options: { num_predict: 4 } }],
  ['/api/embed', { model: M, input: 'Once upon a time' }],
  ['/api/embeddings', { model: M, prompt: 'Once upon a time' }],
  ['/api/show', { model: M }],
  ['/completion', { prompt: 'Once upon a time', n_predict: 4 }],
  ['/infill', { input_prefix: 'Once', input_suffix: 'time', n_predict: 4 }],
  ['/embedding', { content: 'Once upon a time' }],
  ['/tokenize', { content: 'Once upon a time' }],
  ['/detokenize', { tokens: [1, 2, 3] }],
  ['/apply-template', { messages: MSGS }],
  ['/v1/rerank', { model: M, query: 'a', documents: ['b', 'c'] }],
  ['/props', { n_ctx: 4 }],
];

const FIELDS = ['model', 'messages', 'prompt', 'input', 'max_tokens', 'temperature', 'top_p', 'top_k', 'n', 'stop', 'seed',
  'stream', 'logit_bias', 'response_format', 'tools', 'tool_choice', 'options', 'keep_alive', 'format', 'system', 'template',
  'content', 'tokens', 'n_predict', 'grammar', 'json_schema', 'suffix', 'logprobs', 'top_logprobs', 'documents', 'query',
  'stream_options', 'raw', 'think', 'images', 'context', 'penalty_last_n', 'mirostat', 'n_probs', 'id_slot', 'cache_prompt'];

/** Stands for deep nesting, spliced into the text after JSON.stringify (which would recurse as deep). */
const DEEP = '\u0001deep';

function deep(depth: number, asArray: boolean): string {
  return asArray ? '['.repeat(depth) + '1' + ']'.repeat(depth) : '{"a":'.repeat(depth) + '"x"' + '}'.repeat(depth);
}

function value(r: SeededRandom, depth = 0): unknown {
  switch (r.int(depth > 2 ? 9 : 16)) {
    case 0: return null;
    case 1: return r.int(2) === 0;
    case 2: return [0, -1, 1e308, -1e308, 5e-324, 2 ** 53 + 1, -0, 4294967296, 1e21][r.int(9)];
    case 3: return r.int(100_000) - 50_000;
    case 4: return r.uniform() * 4 - 2;
    case 5: return ['', 'x', '\u0000', '\ud800', '\udfff lone', 'a\u0000b', '\u202e\ufeff', '👩‍👩‍👧', '{{ x }}', '{% for %}', '<s></s>', '5m'][r.int(12)];
    case 6: return 'x'.repeat(depth === 0 && r.int(3) === 0 ? 200_000 : r.int(2000));
    case 7: return String(r.uint32()).repeat(1 + r.int(20));
    case 8: return [1, 2, 'hth_x', 'sk-1'][r.int(4)];
    case 9: return Array.from({ length: depth === 0 && r.int(3) === 0 ? 10_000 : r.int(5) }, () => r.int(50_000));
    case 10: return Array.from({ length: r.int(5) }, () => value(r, depth + 1));
    // a big map only at the top (a map of maps of 5,000 each would be the fuzzer's own blow-up)
    case 11: return Object.fromEntries(Array.from({ length: depth === 0 && r.int(3) === 0 ? 5000 : r.int(5) }, (_, i) => [`k${i}`, depth === 0 ? r.int(9) : value(r, depth + 1)]));
    case 12: return DEEP;
    case 13: return MSGS.map((m) => ({ ...m, [['role', 'content', 'name', 'tool_calls'][r.int(4)]]: value(r, depth + 1) }));
    case 14: return { type: ['json_schema', 'json_object', 'text', 'function'][r.int(4)], json_schema: { name: 'n', schema: value(r, depth + 1) } };
    default: return { role: 'user', content: value(r, depth + 1) };
  }
}

/** A body for `path`: its base with fields replaced, added or removed, sometimes as raw text JSON cannot express. */
function body(r: SeededRandom, base: Record<string, unknown>): string {
  const b: Record<string, unknown> = { ...base };
  for (let n = 1 + r.int(3); n > 0; n--) {
    const k = r.int(4);
    const field = r.int(2) === 0 ? Object.keys(base)[r.int(Object.keys(base).length)] : FIELDS[r.int(FIELDS.length)];
    if (k === 0) delete b[field];
    else b[field] = value(r);
  }
  // keep generations short enough for the budget: the fuzz is of the input, not of long outputs
  if (typeof b.max_tokens === 'number' && b.max_tokens > 64) b.max_tokens = 64;
  if (typeof b.n_predict === 'number' && b.n_predict > 64) b.n_predict = 64;
  let text = JSON.stringify(b).replaceAll(JSON.stringify(DEEP), () => deep(r.int(2) === 0 ? 5000 : 200, r.int(2) === 0));
  const raw = r.int(8);
  if (raw === 0) text = text.replace(/:(\d+)/, ':NaN');
  else if (raw === 1) text = text.replace(/:(\d+)/, ':Infinity');
  else if (raw === 2) text = '['.repeat(100_000) + ']'.repeat(100_000);
  else if (raw === 3) text = text.slice(0, r.int(text.length));
  return text;
}

test('hostile bodies into every POST endpoint: no 5xx but overload, within budget, /health up, output unchanged', async () => {
  const greedy = async () => {
    const r = await fetch(srv.base + '/v1/completions', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: M, prompt: 'Once upon a time', max_tokens: 24, temperature: 0 }) });
    assert.equal(r.status, 200);
    return ((await r.json()) as { choices: { text: string }[] }).choices[0].text;
  };
  const before = await greedy();
  const rss0 = srv.rss();
  const r = new SeededRandom(Number(process.env.HEARTH_HTTP_FUZZ_SEED ?? 20261204));
  const t0 = Date.now();
  // a generation with no limit runs to the end of the context: a few seconds, more on a loaded machine
  const BUDGET_MS = 60_000;
  const statuses = new Map<number, number>();
  const bad: string[] = [];
  let sent = 0;
  let stop = false;
  const health = (async () => {
    let worst = 0;
    while (!stop) {
      const h0 = performance.now();
      const h = await fetch(srv.base + '/health');
      await h.text();
      if (h.status !== 200) bad.push(`/health answered ${h.status}`);
      worst = Math.max(worst, performance.now() - h0);
      await new Promise((res) => setTimeout(res, 100));
    }
    return worst;
  })();
  const lane = async () => {
    while (Date.now() - t0 < SECONDS * 1000 && sent < MAX_REQUESTS) {
      const [path, base] = BASES[r.int(BASES.length)];
      const text = body(r, base);
      if (process.env.FUZZ_TRACE) (await import('node:fs')).appendFileSync(process.env.FUZZ_TRACE, `${sent} ${path} ${text.slice(0, 400)}\n`);
      sent++;
      const q0 = performance.now();
      const res = await fetch(srv.base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
      const answer = await res.text();
      const ms = performance.now() - q0;
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500 && !(res.status === 503 && /queue_full|slots are busy|queue is full/.test(answer))) {
        bad.push(`${path} ${res.status}: ${answer.slice(0, 200)} for ${text.slice(0, 200)}`);
      }
      if (ms > BUDGET_MS) bad.push(`${path} took ${Math.round(ms)} ms for ${text.slice(0, 200)}`);
    }
  };
  await Promise.all(process.env.FUZZ_TRACE ? [lane()] : [lane(), lane(), lane(), lane()]);
  stop = true;
  const worstHealth = await health;
  assert.deepEqual(bad.slice(0, 20), []);
  assert.ok(worstHealth < 5000, `/health took ${worstHealth} ms at worst`);
  assert.ok(sent > 100, `only ${sent} requests`);
  assert.equal(await greedy(), before);
  process.stdout.write(`# ${sent} requests: ${[...statuses].sort().map(([s, n]) => `${s}×${n}`).join(' ')}\n`);
  if (process.env.HEARTH_HTTP_FUZZ_SECONDS) {
    // a long run: resident memory after an idle minute, against the start
    const peak = srv.rss();
    await new Promise((res) => setTimeout(res, 60_000));
    const rss1 = srv.rss();
    process.stdout.write(`# hearth serve's resident memory: start ${(rss0 / 2 ** 20).toFixed(0)} MiB, end ${(peak / 2 ** 20).toFixed(0)} MiB, after an idle minute ${(rss1 / 2 ** 20).toFixed(0)} MiB\n`);
    assert.ok(rss1 < rss0 * 1.2, 'resident memory is not back within 20% of its start');
  }
});

test('every field of every endpoint nested 5,000 deep: a 4xx, never a stack overflow', async () => {
  const bad: string[] = [];
  let k = 0;
  for (const [path, base] of BASES) {
    for (const field of new Set([...Object.keys(base), 'keep_alive', 'tool_choice', 'tools', 'options', 'format', 'response_format', 'stop', 'logit_bias', 'grammar', 'json_schema'])) {
      const text = JSON.stringify({ ...base, [field]: DEEP }).replace(JSON.stringify(DEEP), deep(5000, k++ % 2 === 0));
      const res = await fetch(srv.base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
      const answer = await res.text();
      if (res.status >= 500) bad.push(`${path} ${field}: ${res.status} ${answer.slice(0, 120)}`);
    }
  }
  // text that nests: grammars, templates, stop strings
  for (const [path, field] of [['/completion', 'grammar'], ['/v1/chat/completions', 'grammar'], ['/completion', 'json_schema'], ['/v1/completions', 'stop'], ['/api/generate', 'template']] as const) {
    for (const text of ['('.repeat(20_000) + '"a"' + ')'.repeat(20_000), 'root ::= ' + '('.repeat(20_000) + '"a"' + ')'.repeat(20_000), '{{'.repeat(20_000)]) {
      const base = BASES.find(([p]) => p === path)![1];
      const res = await fetch(srv.base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...base, [field]: text }) });
      const answer = await res.text();
      if (res.status >= 500) bad.push(`${path} ${field} text: ${res.status} ${answer.slice(0, 120)}`);
    }
  }
  assert.deepEqual(bad, []);
});
