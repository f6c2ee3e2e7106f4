// SIGTERM drains a real `hearth serve` process: during 8 streams it stops accepting connections, lets every
// stream finish with its final chunk, writes their usage rows and log lines, and exits 0; a second signal cuts the
// wait short. /health/live and /health/ready through the same process.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tempDir } from '../security/harness.ts';
import { STORIES } from './harness.ts';
import { listLogFiles } from '../../src/server/logs/files.ts';
import { spawnServe } from './serve-process.ts';

interface Streamed {
  chunks: { choices: { delta?: { content?: string }; finish_reason: string | null }[]; usage?: { completion_tokens: number } | null }[];
  done: boolean;
}

/** A streamed chat completion read to its end; `first` resolves at its first content chunk. */
function stream(base: string, i: number, maxTokens: number): { first: Promise<void>; end: Promise<Streamed> } {
  let first!: () => void;
  const firstP = new Promise<void>((r) => (first = r));
  const end = (async () => {
    const r = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories260K', messages: [{ role: 'user', content: `Story ${i}` }], max_tokens: maxTokens, temperature: 0.9, seed: i, stream: true, stream_options: { include_usage: true } }),
    });
    assert.equal(r.status, 200);
    const out: Streamed = { chunks: [], done: false };
    let text = '';
    const decoder = new TextDecoder();
    try {
      for await (const part of r.body!) {
        text += decoder.decode(part, { stream: true });
        let at;
        while ((at = text.indexOf('\n\n')) >= 0) {
          const frame = text.slice(0, at);
          text = text.slice(at + 2);
          const data = frame.replace(/^data: /, '');
          if (data === '[DONE]') out.done = true;
          else {
            out.chunks.push(JSON.parse(data));
            if (out.chunks.length >= 2) first();
          }
        }
      }
    } catch { /* a cut connection: out.done stays false */ }
    first();
    return out;
  })();
  return { first: firstP, end };
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2000) });
    return false;
  } catch (e) {
    return /ECONNREFUSED/.test(String((e as { cause?: unknown }).cause ?? e));
  }
}

test('SIGTERM during 8 streams: no new connections, all 8 finish with their final chunk, usage rows written, exit 0', { timeout: 120_000 }, async () => {
  const home = tempDir('hearth-drain-');
  const logDir = join(home, 'logs');
  const env = { ...process.env, HEARTH_HOME: home };
  const srv = await spawnServe([STORIES, '--parallel', '8', '--log-dir', logDir, '--drain-timeout', '60'], env);
  try {
    const live = await fetch(`${srv.base}/health/live`);
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { status: 'ok' });
    let ready;
    for (let i = 0; i < 200; i++) {
      ready = await fetch(`${srv.base}/health/ready`);
      if (ready.status === 200) break;
      assert.equal(ready.status, 503);
      assert.match(((await ready.json()) as { reason: string }).reason, /loading/);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(await ready!.json(), { status: 'ready', checks: { store: 'ok', model: { name: 'stories260K', state: 'loaded' } } });

    const metrics = await (await fetch(`${srv.base}/metrics`)).text();
    assert.ok(Number(/^hearth_model_memory_bytes\{model="stories260K"\} (\d+)$/m.exec(metrics)?.[1]) > 0, 'the model\'s counted memory');
    const streams = Array.from({ length: 8 }, (_, i) => stream(srv.base, i, 400));
    await Promise.all(streams.map((s) => s.first));
    srv.child.kill('SIGTERM');
    // new connections are refused while the streams still run
    let closedAt = Infinity;
    for (let i = 0; i < 100 && !(await refused(`${srv.base}/health/live`)); i++) await new Promise((r) => setTimeout(r, 20));
    closedAt = performance.now();
    const results = await Promise.all(streams.map((s) => s.end));
    const endedAt = performance.now();
    assert.ok(endedAt > closedAt, 'the listener closed before the streams ended');
    assert.equal(await srv.exited, 0, srv.stderr());

    const counts: number[] = [];
    for (const r of results) {
      assert.ok(r.done, 'each stream ends with [DONE]');
      const finish = r.chunks.flatMap((c) => c.choices).map((c) => c.finish_reason).filter((f) => f !== null);
      assert.equal(finish.length, 1, 'one final chunk with its finish_reason');
      assert.match(finish[0]!, /^(stop|length)$/);
      const usage = r.chunks.at(-1)!.usage;
      assert.ok(usage && usage.completion_tokens > 1);
      const pieces = r.chunks.flatMap((c) => c.choices).filter((c) => c.delta?.content).length;
      assert.ok(pieces > 0 && pieces <= usage.completion_tokens, `${pieces} pieces for ${usage.completion_tokens} tokens`);
      counts.push(usage.completion_tokens);
    }
    // the audit has each stream's row, whole
    const db = new DatabaseSync(join(home, 'hearth.db'), { readOnly: true });
    try {
      const rows = db.prepare("SELECT status, completion_tokens FROM usage WHERE route = '/v1/chat/completions' ORDER BY completion_tokens").all() as { status: number; completion_tokens: number }[];
      assert.deepEqual(rows.map((r) => Number(r.status)), Array(8).fill(200));
      assert.deepEqual(rows.map((r) => Number(r.completion_tokens)), counts.sort((a, b) => a - b));
    } finally {
      db.close();
    }
    const files = listLogFiles(logDir);
    const read = (c: string) => files.filter((f) => f.component === c).map((f) => readFileSync(f.path, 'utf8')).join('');
    const access = read('access').trim().split('\n').map((l) => JSON.parse(l) as { route: string; status: number });
    assert.equal(access.filter((l) => l.route === '/v1/chat/completions' && l.status === 200).length, 8);
    const server = read('server').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; in_flight?: number });
    assert.equal(server.find((l) => l.msg === 'shutting down: draining')?.in_flight, 8);
    assert.ok(server.some((l) => l.msg === 'drained; closed'));
    assert.match(read('engine'), /"msg":"model ready"/);
  } finally {
    srv.child.kill('SIGKILL');
  }
});

test('a second SIGTERM cuts the drain short: the streams are cut, the process still exits 0 and says how many', { timeout: 120_000 }, async () => {
  const home = tempDir('hearth-drain2-');
  const env = { ...process.env, HEARTH_HOME: home };
  const srv = await spawnServe([STORIES, '--parallel', '4', '--log-dir', join(home, 'logs')], env);
  try {
    for (let i = 0; i < 200 && (await fetch(`${srv.base}/health/ready`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
    const streams = Array.from({ length: 4 }, (_, i) => stream(srv.base, i, 1900));
    await Promise.all(streams.map((s) => s.first));
    const t0 = performance.now();
    srv.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    srv.child.kill('SIGTERM');
    assert.equal(await srv.exited, 0, srv.stderr());
    assert.ok(performance.now() - t0 < 10_000);
    const results = await Promise.all(streams.map((s) => s.end));
    assert.ok(results.some((r) => !r.done), 'some stream was cut');
    const server = listLogFiles(join(home, 'logs')).filter((f) => f.component === 'server').map((f) => readFileSync(f.path, 'utf8')).join('');
    assert.match(server, /"cut":[1-4],"msg":"closed with [1-4] requests? still running"/);
  } finally {
    srv.child.kill('SIGKILL');
  }
});
