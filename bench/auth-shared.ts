// The shared-state part of bench/auth.ts: what authentication, rate limits and the usage audit add per request over
// real HTTP on loopback, with keys and usage in PostgreSQL and windows in Redis (real servers from Debian's
// packages, started by scripts/cluster.sh up 0) against the SQLite store with in-process windows.

import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { openStore } from '../src/store/store.ts';
import { openPostgres } from '../src/store/postgres/repositories.ts';
import { InProcessRateLimiter } from '../src/server/middleware/rate-limit.ts';
import { RedisRateLimiter } from '../src/server/middleware/redis-rate-limit.ts';
import { security, type SecurityOptions } from '../src/server/middleware/security.ts';
import type { RequestStats } from '../src/server/middleware/request-log.ts';
import { missingServers, startCluster } from '../test/cluster/cluster.ts';

export interface SharedResult {
  table: string;
  /** p99 added by PostgreSQL + Redis (auth and limits, no audit) over no plugin, ms. */
  p99AddedMs: number;
  versions: string;
}

async function app(o: SecurityOptions | undefined): Promise<{ app: FastifyInstance; url: string }> {
  const a = Fastify({ logger: false });
  a.decorateRequest('hearth', null as unknown as RequestStats);
  a.addHook('onRequest', async (request) => {
    request.hearth = {};
  });
  if (o) security(o)(a);
  a.post('/v1/chat/completions', async () => ({ ok: true }));
  await a.listen({ host: '127.0.0.1', port: 0 });
  return { app: a, url: `http://127.0.0.1:${(a.server.address() as AddressInfo).port}` };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function post(url: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = http.request(`${url}/v1/chat/completions`, { method: 'POST', agent, headers: { ...headers, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    r.on('error', reject);
    r.end(body);
  });
}

function quantile(xs: number[], p: number): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

export async function sharedStateBench(n: number, keys: number): Promise<SharedResult | string> {
  const why = missingServers(false);
  if (why) return `not measured: ${why}`;
  const cluster = await startCluster(0);
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-shared-'));
  const store = openStore(join(dir, 'hearth.db'));
  const pgRepos = await openPostgres(cluster.pgUrl);
  const redis = new RedisRateLimiter(cluster.redisUrl);
  const apps: FastifyInstance[] = [];
  try {
    if (!(await redis.ready())) throw new Error('Redis did not answer');
    const limits = { rpm: 1_000_000, tpm: 1_000_000_000, concurrency: 1000, models: ['m'] };
    const sqliteSecrets: string[] = [];
    const pgSecrets: string[] = [];
    for (let i = 0; i < keys; i++) {
      sqliteSecrets.push(store.keys.create({ name: `k${i}`, ...limits }).secret);
      pgSecrets.push((await pgRepos.keys.create({ name: `k${i}`, ...limits })).secret);
    }
    const configs: { name: string; url: string; secrets: string[] }[] = [];
    const add = async (name: string, o: SecurityOptions | undefined, secrets: string[]) => {
      const a = await app(o);
      apps.push(a.app);
      configs.push({ name, url: a.url, secrets });
    };
    await add('no security plugin (baseline)', undefined, sqliteSecrets);
    await add('SQLite keys + in-process windows', { keys: store.keys, limiter: new InProcessRateLimiter() }, sqliteSecrets);
    await add('SQLite keys + in-process windows + usage row', { keys: store.keys, limiter: new InProcessRateLimiter(), usage: store.usage }, sqliteSecrets);
    await add('PostgreSQL keys (cached) + in-process windows', { keys: pgRepos.keys, limiter: new InProcessRateLimiter() }, pgSecrets);
    await add('SQLite keys + Redis windows', { keys: store.keys, limiter: redis }, sqliteSecrets);
    await add('PostgreSQL keys + Redis windows', { keys: pgRepos.keys, limiter: redis }, pgSecrets);
    await add('PostgreSQL keys + Redis windows + usage row', { keys: pgRepos.keys, limiter: redis, usage: pgRepos.usage }, pgSecrets);
    const body = JSON.stringify({ model: 'm', messages: [] });
    const samples = configs.map(() => [] as number[]);
    const once = async (c: (typeof configs)[number], i: number) => {
      const t0 = performance.now();
      const status = await post(c.url, { authorization: `Bearer ${c.secrets[(i * 7919) % c.secrets.length]}` }, body);
      const ms = performance.now() - t0;
      if (status !== 200) throw new Error(`${c.name}: status ${status}`);
      return ms;
    };
    for (let w = 0; w < 300; w++) for (const c of configs) await once(c, w);
    // Interleaved one request at a time, in a new order each round (a fixed seed), so that drift in machine load and
    // whatever one server leaves behind for the next fall on every configuration alike.
    let seed = 42;
    const order = configs.map((_, k) => k);
    for (let i = 0; i < n; i++) {
      for (let j = order.length - 1; j > 0; j--) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const r = seed % (j + 1);
        [order[j], order[r]] = [order[r], order[j]];
      }
      for (const k of order) samples[k].push(await once(configs[k], i));
    }
    // The same round trips without HTTP, one after another: what each costs when nothing else runs beside it.
    const direct = async (name: string, fn: (i: number) => Promise<unknown>) => {
      const xs: number[] = [];
      for (let i = 0; i < Math.min(n, 2000); i++) {
        const t0 = performance.now();
        await fn(i);
        xs.push(performance.now() - t0);
      }
      return `| ${name} | ${quantile(xs, 0.5).toFixed(3)} | ${quantile(xs, 0.99).toFixed(3)} |`;
    };
    const lim = { rpm: 1_000_000, tpm: 1_000_000_000, concurrency: 1000 };
    const directRows = [
      await direct('PgKeyStore.verify, cached', (i) => pgRepos.keys.verify(pgSecrets[i % pgSecrets.length])),
      await direct('RedisRateLimiter.admit (one EVALSHA), release not awaited', async (i) => {
        const a = await redis.admit(`bench_${i % 100}`, lim);
        void redis.release(`bench_${i % 100}`, lim, 0, a.ok ? a.ticket : undefined);
      }),
      await direct('PgUsageLog.record (one INSERT, synchronous_commit off)', (i) => pgRepos.usage.record({
        at: Date.now(), keyId: 'key_bench', requestId: `d${i}`, method: 'POST', route: '/v1/chat/completions', status: 200, durationMs: 1,
      })),
    ];
    const base = samples[0];
    const [b50, b99] = [quantile(base, 0.5), quantile(base, 0.99)];
    const f = (x: number) => x.toFixed(3);
    const rows = configs.map((c, k) => {
      const [p50, p99] = [quantile(samples[k], 0.5), quantile(samples[k], 0.99)];
      return `| ${c.name} | ${f(p50)} | ${f(p99)} | ${k === 0 ? '-' : f(p50 - b50)} | ${k === 0 ? '-' : f(p99 - b99)} |`;
    });
    const table = [
      '| loopback HTTP, POST /v1/chat/completions (trivial handler), one request at a time | p50 ms | p99 ms | p50 added ms | p99 added ms |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      '| the same round trips called directly, one at a time, no HTTP | p50 ms | p99 ms |',
      '| --- | ---: | ---: |',
      ...directRows,
    ].join('\n');
    const pgVersion = (await pgRepos.database.query<{ v: string }>("SELECT current_setting('server_version') AS v"))[0].v;
    const redisVersion = await redis.serverVersion();
    return { table, p99AddedMs: quantile(samples[5], 0.99) - b99, versions: `PostgreSQL ${pgVersion}, Redis ${redisVersion}` };
  } finally {
    for (const a of apps) await a.close();
    agent.destroy();
    await redis.close();
    await pgRepos.close();
    store.close();
    cluster.down();
    rmSync(dir, { recursive: true, force: true });
  }
}
