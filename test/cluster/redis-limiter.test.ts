// RedisRateLimiter against a real Redis (Debian's redis-server, started by scripts/cluster.sh up 0), two limiter
// instances standing for two replicas: request, token and concurrency windows shared exactly, sliding, and the
// per-replica fallback while Redis cannot be reached.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { RedisRateLimiter } from '../../src/server/middleware/redis-rate-limit.ts';
import { metric, missingServers, startCluster, type Cluster } from './cluster.ts';

const skip = missingServers(false);
if (skip) process.stderr.write(`test/cluster/redis-limiter.test.ts skipped: ${skip}\n`);

let cluster: Cluster;
const limiters: RedisRateLimiter[] = [];

before(async () => {
  if (skip) return;
  cluster = await startCluster(0);
});

after(async () => {
  for (const l of limiters) await l.close();
  cluster?.down();
});

async function pair(windowMs = 60_000): Promise<[RedisRateLimiter, RedisRateLimiter]> {
  const made = [0, 1].map(() => new RedisRateLimiter(cluster.redisUrl, { windowMs })) as [RedisRateLimiter, RedisRateLimiter];
  limiters.push(...made);
  for (const l of made) assert.ok(await l.ready(), 'connected to Redis');
  return made;
}

let keyN = 0;
const newKey = () => `key_t${process.pid}_${keyN++}`;

test('rpm is exact across two limiters: 200 concurrent admissions, 30 allowed', { skip }, async () => {
  const [a, b] = await pair();
  const key = newKey();
  const res = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).admit(key, { rpm: 30 })));
  assert.equal(res.filter((r) => r.ok).length, 30);
  const no = res.find((r) => !r.ok)!;
  assert.ok(!no.ok && no.limit === 'requests' && no.retryAfterMs > 0 && no.retryAfterMs <= 60_000, JSON.stringify(no));
  assert.equal(no.state.requests?.remaining, 0);
  assert.ok(!a.degraded && !b.degraded);
});

test('the window slides: requests admitted again once the oldest leave it', { skip }, async () => {
  const [a, b] = await pair(400);
  const key = newKey();
  assert.ok((await a.admit(key, { rpm: 2 })).ok);
  await new Promise((r) => setTimeout(r, 200));
  assert.ok((await b.admit(key, { rpm: 2 })).ok);
  const no = await a.admit(key, { rpm: 2 });
  assert.ok(!no.ok && no.retryAfterMs <= 250, JSON.stringify(no));
  await new Promise((r) => setTimeout(r, no.ok ? 0 : no.retryAfterMs + 20));
  // the first left the window, the second has not
  assert.ok((await b.admit(key, { rpm: 2 })).ok);
  assert.ok(!(await a.admit(key, { rpm: 2 })).ok);
});

test('tokens counted at release on one limiter hold on the other; concurrency slots are shared and freed by ticket', { skip }, async () => {
  const [a, b] = await pair();
  const key = newKey();
  const lim = { tpm: 100 };
  const first = await a.admit(key, lim);
  assert.ok(first.ok);
  await a.release(key, lim, 60, first.ticket);
  const second = await b.admit(key, lim);
  assert.ok(second.ok && second.state.tokens?.remaining === 40);
  await b.release(key, lim, 60, second.ticket);
  const third = await a.admit(key, lim);
  assert.ok(!third.ok && third.limit === 'tokens', JSON.stringify(third));

  const ckey = newKey();
  const c = { concurrency: 2 };
  const one = await a.admit(ckey, c);
  const two = await b.admit(ckey, c);
  assert.ok(one.ok && two.ok);
  const three = await a.admit(ckey, c);
  assert.ok(!three.ok && three.limit === 'concurrency');
  await b.release(ckey, c, 0, one.ticket);
  assert.ok((await b.admit(ckey, c)).ok);
});

test('Redis unreachable: each limiter decides alone, says so in its log and metrics', { skip }, async () => {
  const dead = cluster.redisUrl.replace(/:(\d+)$/, (_, p) => `:${Number(p) + 2}`);
  const warnings: string[] = [];
  const log = { warn: (_: object, m: string) => void warnings.push(m), info: () => {} };
  const [a, b] = [0, 1].map(() => new RedisRateLimiter(dead, { log })) as [RedisRateLimiter, RedisRateLimiter];
  limiters.push(a, b);
  const registry = new Registry();
  a.registerMetrics(registry, 'hearth_');
  assert.equal(await a.ready(300), false);
  const key = newKey();
  const res = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).admit(key, { rpm: 5 })));
  // per replica: 5 each
  assert.equal(res.filter((r) => r.ok).length, 10);
  assert.ok(a.degraded && b.degraded);
  assert.equal(warnings.filter((w) => /per-replica windows/.test(w)).length, 2, 'one warning per limiter and outage');
  const text = await registry.metrics();
  assert.equal(metric(text, 'hearth_rate_limit_fallback'), 1);
  assert.equal(metric(text, 'hearth_rate_limit_fallback_decisions_total'), 10);
  // a locally admitted request is released locally
  const ok = res.find((r) => r.ok)!;
  await a.release(key, { rpm: 5 }, 10, ok.ok ? ok.ticket : undefined);
});
