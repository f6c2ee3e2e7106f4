// /health/live and /health/ready (the store, the default model, draining) and the per-model metrics (queue time,
// time to first token, inter-token latency, KV-cache use, memory) on a live server over stories260K; every metric
// docs/grafana-dashboard.json charts is one /metrics serves.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, STORIES, until } from './harness.ts';
import { Drainer } from '../../src/server/drain.ts';
import { REPO_ROOT } from '../shared.ts';

const get = async (base: string, path: string) => {
  const r = await fetch(base + path);
  return { status: r.status, retry: r.headers.get('retry-after'), body: (await r.json()) as any };
};

test('/health/live answers while the model loads; /health/ready waits for the model and the store, with the reason', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let store: 'ok' | 'broken' | 'hung' = 'ok';
  const srv = await startServer({
    source: () => gate.then(() => ({ path: STORIES })), ready: false,
    app: {
      readiness: {
        model: 'stories260K', storeTimeoutMs: 200,
        store: () => {
          if (store === 'broken') throw new Error('SQLITE_CANTOPEN: unable to open database file');
          if (store === 'hung') return new Promise<void>(() => {});
        },
      },
    },
  });
  try {
    assert.deepEqual(await get(srv.base, '/health/live'), { status: 200, retry: null, body: { status: 'ok' } });
    assert.deepEqual(await get(srv.base, '/health/ready'), {
      status: 503, retry: '1',
      body: { status: 'not_ready', reason: 'model "stories260K" is loading', checks: { store: 'ok', model: { name: 'stories260K', state: 'loading' } } },
    });
    release();
    await until(() => srv.host.state === 'ready', 10_000);
    assert.deepEqual(await get(srv.base, '/health/ready'), {
      status: 200, retry: null, body: { status: 'ready', checks: { store: 'ok', model: { name: 'stories260K', state: 'loaded' } } },
    });
    store = 'broken';
    const broken = await get(srv.base, '/health/ready');
    assert.equal(broken.status, 503);
    assert.equal(broken.body.reason, 'the store is not reachable: SQLITE_CANTOPEN: unable to open database file');
    assert.equal(broken.body.checks.store, 'error');
    assert.equal((await get(srv.base, '/health/live')).status, 200);
    store = 'hung';
    const t0 = performance.now();
    const hung = await get(srv.base, '/health/ready');
    assert.equal(hung.status, 503);
    assert.equal(hung.body.reason, 'the store is not reachable: no answer in 200 ms');
    assert.ok(performance.now() - t0 < 2000);
    store = 'ok';
    assert.equal((await get(srv.base, '/health/ready')).status, 200);
    // the old /health is unchanged
    assert.equal((await get(srv.base, '/health')).body.status, 'ok');
  } finally {
    await srv.close();
  }
});

test('while draining, /health/ready is 503 and other requests get 503 with Connection: close; the stream in flight finishes', async () => {
  const drainer = new Drainer();
  const srv = await startServer({ app: { drainer } });
  const r = await fetch(`${srv.base}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'stories260K', prompt: 'Once', max_tokens: 200, stream: true }),
  });
  assert.equal(drainer.inFlight, 1);
  const drained = drainer.drain(srv.app, 30_000);
  assert.ok(drainer.draining);
  const ready = await srv.app.inject({ url: '/health/ready' });
  assert.equal(ready.statusCode, 503);
  assert.equal(ready.json().reason, 'the server is shutting down');
  const refused = await srv.app.inject({ url: '/v1/models' });
  assert.equal(refused.statusCode, 503);
  assert.equal(refused.headers.connection, 'close');
  assert.match(refused.json().error.message, /shutting down/);
  const text = await r.text();
  assert.match(text, /"finish_reason":"(stop|length)"[^\n]*\n\ndata: \[DONE\]\n\n$/);
  const result = await drained;
  assert.deepEqual({ drained: result.drained, cut: result.cut }, { drained: true, cut: 0 });
});

test('/metrics after a request: queue time, time to first token and inter-token latency per model; KV cache and memory gauges', async () => {
  const srv = await startServer({ parallel: 2, nCtx: 256 });
  try {
    const r = await fetch(`${srv.base}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories260K', messages: [{ role: 'user', content: 'Once' }], max_tokens: 9, temperature: 0, stream: true, stream_options: { include_usage: true } }),
    });
    const frames = (await r.text()).split('\n\n').filter((f) => f.startsWith('data: {')).map((f) => JSON.parse(f.slice(6)));
    const usage = frames.at(-1).usage as { prompt_tokens: number; completion_tokens: number };
    const text = await (await fetch(`${srv.base}/metrics`)).text();
    const value = (name: string) => Number(text.match(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm'))?.[1]);
    const m = '{model="stories260K"}';
    assert.equal(value(`hearth_request_queue_seconds_count${m}`), 1);
    assert.equal(value(`hearth_model_time_to_first_token_seconds_count${m}`), 1);
    assert.ok(value(`hearth_model_time_to_first_token_seconds_sum${m}`) > 0);
    // one gap between each two consecutive tokens
    assert.equal(value(`hearth_inter_token_latency_seconds_count${m}`), usage.completion_tokens - 1);
    assert.ok(value(`hearth_inter_token_latency_seconds_sum${m}`) > 0);
    assert.match(text, /^hearth_inter_token_latency_seconds_bucket\{le="0\.001",model="stories260K"\} \d+$/m);
    // the finished sequence's tokens stay in its slot for prefix reuse: prompt + generated (the last one not yet evaluated)
    const held = value(`hearth_kv_cache_tokens${m}`);
    assert.ok(held >= usage.prompt_tokens + usage.completion_tokens - 1 && held <= usage.prompt_tokens + usage.completion_tokens, `${held} tokens held`);
    assert.equal(value(`hearth_kv_cache_capacity_tokens${m}`), 2 * 256);
    assert.equal(value(`hearth_kv_cache_usage_ratio${m}`), held / 512);
    // the estimate the memory budget counts: this harness's manager counts none (hearth serve's does: the fit estimate)
    assert.equal(value(`hearth_model_memory_bytes${m}`), 0);
    assert.ok(value('hearth_resident_memory_bytes') > 10e6);

    // the dashboard charts only what is here
    const dashboard = readFileSync(join(REPO_ROOT, 'docs', 'grafana-dashboard.json'), 'utf8');
    const d = JSON.parse(dashboard) as { panels: { targets: { expr: string }[] }[]; templating: { list: { definition: string }[] } };
    const exprs = [...d.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...d.templating.list.map((v) => v.definition)];
    const names = new Set(exprs.flatMap((e) => [...e.matchAll(/\bhearth_[a-z_]+/g)].map((x) => x[0])));
    assert.ok(names.size >= 15, [...names].join(' '));
    for (const name of names) assert.match(text, new RegExp(`^${name}[{ ]`, 'm'), `${name} is not in /metrics`);
    for (const wanted of ['hearth_request_queue_seconds_bucket', 'hearth_model_time_to_first_token_seconds_bucket', 'hearth_inter_token_latency_seconds_bucket', 'hearth_kv_cache_usage_ratio', 'hearth_resident_memory_bytes']) {
      assert.ok(names.has(wanted), `the dashboard charts ${wanted}`);
    }
  } finally {
    await srv.close();
  }
});
