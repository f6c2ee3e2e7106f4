// The keys and usage repositories (store/repository.ts): one set of tests run against the SQLite store and
// against PostgreSQL (a real server from Debian's postgresql, started by scripts/cluster.sh up 0), plus what only
// the shared database does: migrating once under concurrent opens, revocations reaching another process's key
// cache through LISTEN/NOTIFY, and failing with database_unavailable when the server is not there.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { execFileSync } from 'node:child_process';
import { isHearthError } from '../../src/util/errors.ts';
import { openStore } from '../../src/store/store.ts';
import { openPostgres } from '../../src/store/postgres/repositories.ts';
import { PG_MIGRATIONS } from '../../src/store/postgres/migrations.ts';
import type { Repositories } from '../../src/store/repository.ts';
import { missingServers, startCluster, type Cluster } from './cluster.ts';
import { REPO_ROOT } from '../shared.ts';

const skipPg = missingServers(false);
if (skipPg) process.stderr.write(`test/cluster/store.test.ts: the PostgreSQL half is skipped: ${skipPg}\n`);

let cluster: Cluster | undefined;
let admin: pg.Client | undefined;
let dbCount = 0;
const dir = mkdtempSync(join(tmpdir(), 'hearth-store-'));

before(async () => {
  if (skipPg) return;
  cluster = await startCluster(0);
  admin = new pg.Client({ connectionString: cluster.pgUrl });
  await admin.connect();
});

after(async () => {
  await admin?.end();
  cluster?.down();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh, empty PostgreSQL database's URL. */
async function freshPg(): Promise<string> {
  const name = `t${process.pid}_${dbCount++}`;
  await admin!.query(`CREATE DATABASE ${name}`);
  return cluster!.pgUrl.replace(/\/hearth$/, `/${name}`);
}

type Open = (now: () => number) => Promise<Repositories>;

const backends: [string, Open, string | undefined][] = [
  ['SQLite', async (now) => {
    const store = openStore(join(dir, `s${dbCount++}.db`), now);
    return { keys: store.keys, usage: store.usage, where: store.database.path, close: async () => store.close() };
  }, undefined],
  ['PostgreSQL', async (now) => openPostgres(await freshPg(), { now }), skipPg],
];

for (const [name, open, skip] of backends) {
  test(`${name}: create returns the secret once; get, list (newest first) and activeCount`, { skip }, async () => {
    let t = 1_000_000;
    const repo = await open(() => t);
    try {
      const a = await repo.keys.create({ name: 'a', scopes: ['inference'], rpm: 10, models: ['m1', 'm1', ' m2 '] });
      t += 1000;
      const b = await repo.keys.create({ name: 'b', tpm: 500, concurrency: 2, expiresAt: t + 60_000 });
      assert.match(a.secret, /^hth_[0-9A-Za-z]{43}$/);
      assert.equal(a.key.prefix, a.secret.slice(0, 12));
      assert.deepEqual(a.key.models, ['m1', 'm2']);
      assert.deepEqual(await repo.keys.get(a.key.id), a.key);
      assert.deepEqual(await repo.keys.get(b.key.id), { ...b.key, scopes: ['inference', 'models:read'] });
      assert.deepEqual((await repo.keys.list()).map((k) => k.name), ['b', 'a']);
      assert.equal(await repo.keys.activeCount(), 2);
      assert.equal(await repo.keys.get('key_missing'), undefined);
      const listed = (await repo.keys.list()).find((k) => k.id === b.key.id)!;
      assert.deepEqual([listed.tpm, listed.concurrency, listed.expiresAt, listed.createdAt], [500, 2, t + 60_000, t]);
    } finally {
      await repo.close();
    }
  });

  test(`${name}: verify says ok for the key, and why not for malformed, unknown, revoked and expired secrets`, { skip }, async () => {
    let t = 5_000_000;
    const repo = await open(() => t);
    try {
      const live = await repo.keys.create({ name: 'live' });
      const gone = await repo.keys.create({ name: 'gone' });
      const brief = await repo.keys.create({ name: 'brief', expiresAt: t + 1000 });
      const v = await repo.keys.verify(live.secret);
      assert.ok(v.ok && v.key.id === live.key.id);
      assert.deepEqual(await repo.keys.verify('hth_short'), { ok: false, reason: 'malformed' });
      // same prefix, different body: found by prefix, refused by hash
      assert.deepEqual(await repo.keys.verify(`${live.secret.slice(0, 12)}${'0'.repeat(35)}`), { ok: false, reason: 'unknown' });
      const revoked = await repo.keys.revoke(gone.key.id);
      assert.equal(revoked.revokedAt, t);
      assert.deepEqual(await repo.keys.verify(gone.secret), { ok: false, reason: 'revoked' });
      assert.ok((await repo.keys.verify(brief.secret)).ok);
      t += 1000;
      assert.deepEqual(await repo.keys.verify(brief.secret), { ok: false, reason: 'expired' });
      assert.equal(await repo.keys.activeCount(), 1);
    } finally {
      await repo.close();
    }
  });

  test(`${name}: revoke is idempotent and keeps the first time; an unknown id is not_found; create checks its options`, { skip }, async () => {
    let t = 9_000_000;
    const repo = await open(() => t);
    try {
      const k = await repo.keys.create({ name: 'k' });
      const first = await repo.keys.revoke(k.key.id);
      t += 5000;
      assert.equal((await repo.keys.revoke(k.key.id)).revokedAt, first.revokedAt);
      await assert.rejects(async () => repo.keys.revoke('key_nope'), (e) => isHearthError(e, 'not_found'));
      for (const bad of [{ name: '' }, { name: 'x', scopes: ['root'] }, { name: 'x', rpm: 0 }, { name: 'x', models: [] }, { name: 'x', expiresAt: t - 1 }]) {
        await assert.rejects(async () => repo.keys.create(bad), (e) => isHearthError(e, 'invalid_argument'), JSON.stringify(bad));
      }
      assert.equal((await repo.keys.list()).length, 1);
    } finally {
      await repo.close();
    }
  });

  test(`${name}: usage rows, summaries by key, route and model, the timeline and last use`, { skip }, async () => {
    const repo = await open(() => 0);
    try {
      const row = (at: number, keyId: string | undefined, route: string, status: number, p?: number, c?: number) => repo.usage.record({
        at, keyId, requestId: `r${at}`, method: 'POST', route, model: route === '/v1/models' ? undefined : 'm', promptTokens: p,
        completionTokens: c, status, durationMs: 1.5, client: '127.0.0.1', ...(at === 3000 ? { provider: 'up', upstreamModel: 'gpt', tokensEstimated: true } : {}),
      });
      await row(1000, 'key_a', '/v1/chat/completions', 200, 10, 5);
      await row(2000, 'key_a', '/v1/chat/completions', 429);
      await row(3000, 'key_b', '/v1/chat/completions', 500, 7, 0);
      await row(61_000, 'key_a', '/v1/models', 200);
      await row(62_000, undefined, '/v1/models', 401);
      // most requests first, then by group, no key (null) first
      const byKey = await repo.usage.summary();
      assert.deepEqual(byKey.map((r) => [r.group, r.requests, r.errors, r.rateLimited, r.promptTokens, r.completionTokens, r.firstAt, r.lastAt]), [
        ['key_a', 3, 1, 1, 10, 5, 1000, 61_000],
        [null, 1, 1, 0, 0, 0, 62_000, 62_000],
        ['key_b', 1, 1, 0, 7, 0, 3000, 3000],
      ]);
      assert.equal(byKey[0].meanMs, 1.5);
      assert.deepEqual((await repo.usage.summary({ by: 'route', since: 2000 })).map((r) => [r.group, r.requests]), [['/v1/chat/completions', 2], ['/v1/models', 2]]);
      assert.deepEqual((await repo.usage.summary({ by: 'model', keyId: 'key_a' })).map((r) => [r.group, r.requests]), [['m', 2], [null, 1]]);
      const tl = await repo.usage.timeline({ since: 0, bucketMs: 60_000, by: 'key' });
      assert.deepEqual(tl.map((p) => [p.t, p.group, p.requests, p.errors, p.rateLimited, p.promptTokens]), [
        [0, 'key_a', 2, 1, 1, 10], [0, 'key_b', 1, 1, 0, 7], [60_000, null, 1, 1, 0, 0], [60_000, 'key_a', 1, 0, 0, 0],
      ]);
      assert.deepEqual(await repo.usage.lastUsed(), new Map([['key_a', 61_000], ['key_b', 3000]]));
    } finally {
      await repo.close();
    }
  });
}

test('PostgreSQL: replicas opening a new database together migrate it once', { skip: skipPg }, async () => {
  const url = await freshPg();
  const repos = await Promise.all(Array.from({ length: 4 }, () => openPostgres(url)));
  try {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const steps = (await c.query('SELECT version FROM hearth_schema ORDER BY version')).rows.map((r) => r.version);
    await c.end();
    assert.deepEqual(steps, PG_MIGRATIONS.map((_, i) => i + 1));
    const { secret } = await repos[0].keys.create({ name: 'shared' });
    for (const r of repos) assert.ok((await r.keys.verify(secret)).ok);
  } finally {
    for (const r of repos) await r.close();
  }
});

test('PostgreSQL: a revocation through one process reaches another\'s key cache within 1 s', { skip: skipPg }, async () => {
  const url = await freshPg();
  const a = await openPostgres(url);
  const b = await openPostgres(url);
  try {
    assert.ok(a.keys.caching && b.keys.caching, 'both listen for key changes');
    const { key, secret } = await a.keys.create({ name: 'cached' });
    assert.ok((await b.keys.verify(secret)).ok);
    // b answers from its cache now: the row changed behind its back (no NOTIFY) is not seen...
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query('UPDATE api_keys SET name = $1 WHERE id = $2', ['renamed', key.id]);
    const cached = await b.keys.verify(secret);
    assert.ok(cached.ok && cached.key.name === 'cached', 'answered from the cache');
    await c.end();
    // ...but a revocation is: it commits with a NOTIFY
    const t0 = performance.now();
    await a.keys.revoke(key.id);
    for (;;) {
      const v = await b.keys.verify(secret);
      if (!v.ok) {
        assert.equal(v.reason, 'revoked');
        break;
      }
      assert.ok(performance.now() - t0 < 1000, 'still accepted 1 s after revocation');
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await a.close();
    await b.close();
  }
});

test('PostgreSQL: a server that does not answer is database_unavailable; a bad URL is invalid_argument', { skip: skipPg }, async () => {
  // a port nothing listens on: the cluster's base port + 3 is never used
  const dead = cluster!.pgUrl.replace(/:(\d+)\//, (_, p) => `:${Number(p) + 3}/`);
  await assert.rejects(openPostgres(dead), (e) => isHearthError(e, 'database_unavailable') && !/password/.test(e.message));
  await assert.rejects(openPostgres('mysql://x@y/z'), (e) => isHearthError(e, 'invalid_argument'));
});

test('PostgreSQL: hearth keys create|list|revoke and hearth usage with --database', { skip: skipPg }, async () => {
  const url = await freshPg();
  const hearth = (...args: string[]) => execFileSync(process.execPath, [join(REPO_ROOT, 'bin', 'hearth.js'), ...args],
    { env: { ...process.env, HEARTH_HOME: dir, HEARTH_DATABASE_URL: '' }, timeout: 60_000 }).toString();
  const made = JSON.parse(hearth('keys', 'create', '--database', url, '--name', 'cli', '--rpm', '7', '--json'));
  assert.match(made.key, /^hth_/);
  assert.equal(made.rpm, 7);
  const repo = await openPostgres(url);
  try {
    assert.ok((await repo.keys.verify(made.key)).ok, 'the key is in PostgreSQL');
    await repo.usage.record({ at: Date.now(), keyId: made.id, method: 'GET', route: '/v1/models', status: 200, durationMs: 1 });
  } finally {
    await repo.close();
  }
  const listed = JSON.parse(hearth('keys', 'list', '--database', url, '--json'));
  assert.deepEqual(listed.map((k: { id: string; status: string }) => [k.id, k.status]), [[made.id, 'active']]);
  assert.ok(listed[0].last_used_at);
  assert.match(hearth('keys', 'revoke', '--database', url, made.id), /^Revoked key_/);
  const usage = JSON.parse(hearth('usage', '--database', url, '--json'));
  assert.deepEqual(usage.rows.map((r: { key: string; name: string; requests: number }) => [r.key, r.name, r.requests]), [[made.id, 'cli', 1]]);
  assert.equal(JSON.parse(hearth('keys', 'list', '--database', url, '--json'))[0].status, 'revoked');
});
