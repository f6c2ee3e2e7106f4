// What a cluster does when a part of it fails, with real servers (scripts/cluster.sh): kill -9 of a replica under
// load loses no acknowledged usage row and nginx moves the traffic to the other; Redis stopped → per-replica
// rate-limit windows with a warning and a gauge, shared again once it is back; PostgreSQL stopped → requests
// that need a key get 503 (authentication fails closed), and work again once it is back.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { call, createKey, metric, missingServers, startCluster, type Cluster } from './cluster.ts';

const skip = missingServers();
if (skip) process.stderr.write(`test/cluster/failover.test.ts skipped: ${skip}\n`);

let cluster: Cluster;
let db: pg.Client;

before(async () => {
  if (skip) return;
  cluster = await startCluster(2);
  db = new pg.Client({ connectionString: cluster.pgUrl });
  db.on('error', () => {});
  await db.connect();
});

after(async () => {
  await db?.end().catch(() => {});
  cluster?.down();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ms: number, fn: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await fn()) return performance.now() - t0;
    if (performance.now() - t0 > ms) throw new Error(`${what}: not after ${ms} ms`);
    await sleep(50);
  }
}

test('Redis stopped: per-replica windows with a warning and hearth_rate_limit_fallback = 1; shared again when it returns', { skip }, async () => {
  const [r1, r2] = cluster.replicas;
  const burst = async (key: string) => {
    const res = await Promise.all(Array.from({ length: 20 }, (_, i) => call(`${cluster.replicas[i % 2].url}/v1/models`, key)));
    return res.filter((r) => r.status === 200).length;
  };
  const gauge = async (url: string) => metric((await call(`${url}/metrics`, cluster.adminKey)).text, 'hearth_rate_limit_fallback');
  assert.equal(await gauge(r1.url), 0);
  assert.equal(await burst((await createKey(r1.url, cluster.adminKey, { name: 'before', rpm: 5, scopes: ['models:read'] })).key), 5);

  cluster.service('stop', 'redis');
  const down = await createKey(r1.url, cluster.adminKey, { name: 'down', rpm: 5, scopes: ['models:read'] });
  // each replica keeps its own window: 5 each
  assert.equal(await burst(down.key), 10);
  for (const r of [r1, r2]) {
    assert.equal(await gauge(r.url), 1);
    const decisions = metric((await call(`${r.url}/metrics`, cluster.adminKey)).text, 'hearth_rate_limit_fallback_decisions_total');
    assert.ok(decisions !== undefined && decisions >= 10, `fallback decisions ${decisions}`);
  }
  for (const i of [1, 2]) assert.match(cluster.log(i), /Redis cannot be reached: rate limits fall back to per-replica windows/);

  cluster.service('start', 'redis');
  // ioredis reconnects within a second; the first admission through Redis clears the gauge
  await until('Redis in use again', 5000, async () => {
    await call(`${r1.url}/v1/models`, cluster.adminKey);
    await call(`${r2.url}/v1/models`, cluster.adminKey);
    return (await gauge(r1.url)) === 0 && (await gauge(r2.url)) === 0;
  });
  assert.equal(await burst((await createKey(r2.url, cluster.adminKey, { name: 'after', rpm: 5, scopes: ['models:read'] })).key), 5);
  for (const i of [1, 2]) assert.match(cluster.log(i), /Redis answers again/);
});

test('PostgreSQL stopped: a request that needs a key gets 503 database_unavailable, even for a cached key; back when it returns', { skip }, async () => {
  const [r1, r2] = cluster.replicas;
  const { key } = await createKey(r1.url, cluster.adminKey, { name: 'pg', scopes: ['models:read'] });
  for (const r of [r1, r2]) assert.equal((await call(`${r.url}/v1/models`, key)).status, 200);
  cluster.service('stop', 'postgres');
  try {
    for (const r of [r1, r2]) {
      const res = await call(`${r.url}/v1/models`, key);
      assert.equal(res.status, 503, res.text);
      assert.match(res.text, /database .* cannot be reached/);
      assert.ok(res.headers.get('retry-after'));
    }
    // /health needs no key and stays up
    assert.equal((await fetch(`${r1.url}/health`)).status, 200);
  } finally {
    cluster.service('start', 'postgres');
  }
  await until('keys accepted again', 10_000, async () => (await call(`${r1.url}/v1/models`, key)).status === 200 && (await call(`${r2.url}/v1/models`, key)).status === 200);
  await db.end().catch(() => {});
  db = new pg.Client({ connectionString: cluster.pgUrl });
  db.on('error', () => {});
  await db.connect();
});

test('kill -9 of one replica under load: no acknowledged request lacks its usage row, and nginx moves traffic to the other', { skip }, async (t) => {
  const { id, key } = await createKey(cluster.lbUrl, cluster.adminKey, { name: 'load', scopes: ['inference'] });
  const acked: string[] = [];
  const failed: string[] = [];
  let afterKill = 0;
  let killed = false;
  let n = 0;
  const deadline = performance.now() + 4000;
  const worker = async (w: number) => {
    while (performance.now() < deadline) {
      const rid = `load-${w}-${n++}`;
      const stream = n % 2 === 0;
      try {
        const r = await call(`${cluster.lbUrl}/v1/chat/completions`, key, {
          headers: { 'x-request-id': rid },
          body: { model: 'stories260K', messages: [{ role: 'user', content: `story ${n}` }], max_tokens: 8, stream },
        });
        // received in full: a JSON answer that parses, or a stream through its [DONE]
        const whole = r.status === 200 && (stream ? r.text.endsWith('data: [DONE]\n\n') : r.json().object === 'chat.completion');
        if (whole) {
          acked.push(rid);
          if (killed) afterKill++;
        } else failed.push(rid);
      } catch {
        failed.push(rid);
      }
    }
  };
  const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
  await sleep(1500);
  process.kill(cluster.replicas[0].pid, 'SIGKILL');
  killed = true;
  await load;
  t.diagnostic(`${acked.length} requests answered in full (${afterKill} after the kill), ${failed.length} failed`);
  assert.ok(acked.length > 20, `only ${acked.length} requests answered`);
  assert.ok(afterKill > 10, `only ${afterKill} requests answered after the kill`);
  // at most the requests in flight on the killed replica fail
  assert.ok(failed.length <= 8, `${failed.length} requests failed: ${failed.join(', ')}`);
  const rows = new Set((await db.query('SELECT request_id FROM usage WHERE key_id = $1', [id])).rows.map((r) => r.request_id as string));
  const missing = acked.filter((rid) => !rows.has(rid));
  assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged requests have no usage row`);
});
