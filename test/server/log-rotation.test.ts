// hearth serve's log files under load: 100,000 requests (401s for wrong keys, 200s for a real key, 502s for an
// upstream whose provider token comes from the environment) through a real server with --log-max-size 1MB
// --log-keep 5 leave at most 6 files per component, every line of every file is JSON, and neither the key sent in
// Authorization nor any provider token is in any file or on stdout (which has every line too). Then hearth logs
// prints them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../security/harness.ts';
import { openStore } from '../../src/store/store.ts';
import { listLogFiles } from '../../src/server/logs/files.ts';
import { HEARTH_BIN, spawnServe } from './serve-process.ts';

const TOTAL = 100_000;
const CONNECTIONS = 16;
const BATCH = 50;

/** A raw HTTP/1.1 request. */
const raw = (path: string, headers: Record<string, string>, body?: string) =>
  `${body ? 'POST' : 'GET'} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n` +
  Object.entries({ ...headers, ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) })
    .map(([k, v]) => `${k}: ${v}\r\n`).join('') + `\r\n${body ?? ''}`;

/**
 * Sends `requests` over one connection, pipelined `batch` at a time (Node's server answers them in order), and
 * returns the status of each answer: a client cheap enough that the server, not the client, is what is measured.
 */
async function pipeline(port: number, requests: string[], batch: number): Promise<number[]> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const statuses: number[] = [];
  let text = '';
  let want = 0;
  let wake: (() => void) | undefined;
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => {
    text += d;
    if (wake && (text.match(STATUS) ?? []).length >= want) wake();
  });
  try {
    for (let i = 0; i < requests.length; i += batch) {
      const part = requests.slice(i, i + batch);
      want = part.length;
      const done = new Promise<void>((resolve, reject) => {
        wake = resolve;
        socket.once('error', reject);
        socket.once('close', () => reject(new Error(`the server closed the connection after ${statuses.length} answers`)));
      });
      socket.write(part.join(''));
      if ((text.match(STATUS) ?? []).length < want) await done;
      // the last answer's body may still be on its way; it holds no status line
      const got = [...text.matchAll(STATUS)].map((m) => Number(m[1]));
      statuses.push(...got.slice(0, want));
      text = '';
      wake = undefined;
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
    }
  } finally {
    socket.destroy();
  }
  return statuses;
}

const STATUS = /HTTP\/1\.1 (\d{3}) /g;

test('100,000 requests with --log-max-size 1MB --log-keep 5: at most 6 files per component, all JSON, no secret', { timeout: 240_000 }, async () => {
  const home = tempDir('hearth-logs-');
  const logDir = join(home, 'logs');
  const store = openStore(join(home, 'hearth.db'));
  const good = store.keys.create({ name: 'load' }).secret;
  store.close();
  const providerToken = 'sk-proj-' + 'P'.repeat(20) + 'providertoken';
  const clientProviderToken = 'sk-ant-api03-' + 'Q'.repeat(40);
  const wrong = 'hth_' + 'W'.repeat(32);
  const config = join(home, 'config.yaml');
  writeFileSync(config, 'providers:\n  up: { type: openai-compatible, base_url: "http://127.0.0.1:1/v1", api_key: "${UP_TOKEN}" }\n');
  const env = { ...process.env, HEARTH_HOME: home, HEARTH_MODELS: join(home, 'models'), UP_TOKEN: providerToken };
  const srv = await spawnServe(['--auth', '--config', config, '--log-dir', logDir, '--log-max-size', '1MB', '--log-keep', '5',
    '--max-connections-per-address', '0'], env, 60_000, join(home, 'stdout.log'));
  const port = Number(new URL(srv.base).port);
  const kinds = [
    raw('/v1/models', { authorization: `Bearer ${wrong}` }),
    raw('/v1/models', { authorization: `Bearer ${good}` }),
    raw(`/v1/models?api_key=${clientProviderToken}`, { 'x-api-key': clientProviderToken }),
    raw('/health', {}),
  ];
  // a few requests go upstream with the provider's token (a refused connection: 502, the token scrubbed)
  const upstream = raw('/v1/chat/completions', { authorization: `Bearer ${good}` },
    JSON.stringify({ model: 'up/gpt-x', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }));
  const sent = Array.from({ length: TOTAL }, (_, i) => (i % 500 === 7 ? upstream : kinds[i % kinds.length]!));
  const per = Math.ceil(TOTAL / CONNECTIONS);
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: CONNECTIONS }, (_, c) => pipeline(port, sent.slice(c * per, (c + 1) * per), BATCH)));
  const statuses = new Map<number, number>();
  for (const s of results.flat()) statuses.set(s, (statuses.get(s) ?? 0) + 1);
  const ms = performance.now() - t0;
  srv.child.kill('SIGTERM');
  assert.equal(await srv.exited, 0, srv.stderr());
  const counts = Object.fromEntries(statuses);
  assert.equal([...statuses.values()].reduce((a, b) => a + b, 0), TOTAL);
  assert.ok((counts[401] ?? 0) >= TOTAL / 2 - 300, JSON.stringify(counts));
  assert.ok((counts[200] ?? 0) >= TOTAL / 4, JSON.stringify(counts));
  assert.ok((counts[502] ?? 0) + (counts[503] ?? 0) >= TOTAL / 500 - 1, JSON.stringify(counts));

  const files = listLogFiles(logDir);
  assert.deepEqual(readdirSync(logDir).sort(), files.map((f) => f.name).sort(), 'only log files in the folder');
  const access = files.filter((f) => f.component === 'access');
  for (const component of new Set(files.map((f) => f.component))) {
    const n = files.filter((f) => f.component === component).length;
    assert.ok(n <= 6, `${component}: ${n} files`);
  }
  // ~250 bytes a line: the access log went through about 25 files of 1 MB
  assert.ok(access.length >= 5 && access[access.length - 1]!.n >= 20, `access files: ${access.map((f) => f.name).join(', ')}`);
  for (const f of access.slice(0, -1)) assert.ok(statSync(f.path).size >= 1_000_000 && statSync(f.path).size < 1_100_000, `${f.name}: ${statSync(f.path).size} bytes`);
  // stdout has every line too (for containers): each request's access line among them
  const stdout = readFileSync(join(home, 'stdout.log'), 'utf8');
  assert.equal(stdout.split('\n').filter((l) => l.includes('"component":"access"')).length, TOTAL);
  let lines = 0;
  const secrets = [good, good.slice(4, 20), wrong, providerToken, providerToken.slice(8, 28), clientProviderToken, clientProviderToken.slice(14, 40)];
  for (const f of files) {
    const text = readFileSync(f.path, 'utf8');
    for (const s of secrets) assert.ok(!text.includes(s) && !stdout.includes(s), `${s} is in ${f.name} or stdout`);
    for (const line of text.split('\n')) {
      if (!line) continue;
      lines++;
      const o = JSON.parse(line) as { component?: string; level: number };
      assert.equal(typeof o.level, 'number');
      if (f.component === 'access') assert.equal(o.component, 'access');
    }
    assert.ok(text.endsWith('\n') || text === '', `${f.name} ends with a whole line`);
  }
  const server = readFileSync(files.find((f) => f.component === 'server')!.path, 'utf8');
  assert.match(server, /"msg":"drained; closed"/);
  assert.ok(lines > 5 * 4000, `${lines} lines kept`);
  console.log(`# ${TOTAL} requests in ${(ms / 1000).toFixed(1)} s (${Math.round(TOTAL / (ms / 1000))}/s); ${files.length} files: ${files.map((f) => f.name).join(' ')}`);

  // hearth logs: readable lines, one component, the last N
  const logs = spawnSync(process.execPath, [HEARTH_BIN, 'logs', '--component', 'access', '-n', '3'], { env, encoding: 'utf8' });
  assert.equal(logs.status, 0, logs.stderr);
  const printed = logs.stdout.trim().split('\n');
  assert.equal(printed.length, 3);
  for (const l of printed) assert.match(l, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO {2}access \[req-[0-9a-z]+\] request {2}method=(GET|POST) route=\S+ url=\S+ status=\d{3}/);
  const all = spawnSync(process.execPath, [HEARTH_BIN, 'logs', '--log-dir', logDir, '--json'], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(all.status, 0, all.stderr);
  const times = all.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { time: number }).time);
  assert.equal(times.length, lines);
  assert.ok(times.every((t, i) => i === 0 || t >= times[i - 1]!), 'merged by time');
  const bad = spawnSync(process.execPath, [HEARTH_BIN, 'logs', '--component', 'nope'], { env, encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--component must be one of access, server, engine, agent/);

  // --follow prints lines appended later, and a file the rotation starts
  const follow = spawn(process.execPath, [HEARTH_BIN, 'logs', '--follow', '-c', 'engine', '-n', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  follow.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  try {
    // appended until the follower, once started, prints it; then a new file the rotation would start
    const deadline = Date.now() + 30_000;
    while (!out.includes('appended later') && Date.now() < deadline) {
      appendFileSync(join(logDir, 'engine.1.log'), JSON.stringify({ level: 40, time: Date.now(), component: 'engine', msg: 'appended later', model: 'm' }) + '\n');
      await new Promise((r) => setTimeout(r, 300));
    }
    writeFileSync(join(logDir, 'engine.2.log'), JSON.stringify({ level: 30, time: Date.now(), component: 'engine', msg: 'a new file' }) + '\n');
    while (!out.includes('a new file') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /WARN {2}engine appended later {2}model=m\n/);
    assert.match(out, /INFO {2}engine a new file\n/);
  } finally {
    follow.kill('SIGINT');
  }
});
