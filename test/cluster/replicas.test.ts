// Two hearth replicas sharing PostgreSQL (keys, usage) and Redis (rate limits) behind nginx, all real servers
// from Debian's packages (scripts/cluster.sh): a key made through one replica works at once through the other,
// a revocation reaches both within a second, an rpm limit holds exactly across both, and every request has its
// usage row.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { call, createKey, missingServers, startCluster, type Cluster } from './cluster.ts';

const skip = missingServers();
if (skip) process.stderr.write(`test/cluster/replicas.test.ts skipped: ${skip}\n`);

let cluster: Cluster;
let db: pg.Client;

before(async () => {
  if (skip) return;
  cluster = await startCluster(2);
  db = new pg.Client({ connectionString: cluster.pgUrl });
  await db.connect();
});

after(async () => {
  await db?.end();
  cluster?.down();
});

test('a key created through replica 1 works at once through replica 2 and nginx', { skip }, async () => {
  const [r1, r2] = cluster.replicas;
  const { key } = await createKey(r1.url, cluster.adminKey, { name: 'at-once', scopes: ['models:read'] });
  // no pause: the very next request, on the other replica
  const via2 = await call(`${r2.url}/v1/models`, key);
  assert.equal(via2.status, 200, via2.text);
  const viaLb = await call(`${cluster.lbUrl}/v1/models`, key);
  assert.equal(viaLb.status, 200, viaLb.text);
  // and a key that does not exist is refused by both
  const bogus = `${key.slice(0, -4)}zzzz`;
  for (const r of cluster.replicas) assert.equal((await call(`${r.url}/v1/models`, bogus)).status, 401);
});

test('a revoked key is refused by both replicas within 1 s', { skip }, async () => {
  const [r1, r2] = cluster.replicas;
  const { id, key } = await createKey(r1.url, cluster.adminKey, { name: 'revoke-me', scopes: ['models:read'] });
  // used on both, so that both hold it in their key cache
  for (let i = 0; i < 3; i++) for (const r of cluster.replicas) assert.equal((await call(`${r.url}/v1/models`, key)).status, 200);
  const del = await call(`${r2.url}/admin/keys/${id}`, cluster.adminKey, { method: 'DELETE' });
  assert.equal(del.status, 200, del.text);
  const t0 = performance.now();
  const refusedAt: number[] = [];
  for (const r of [r1, r2]) {
    for (;;) {
      const res = await call(`${r.url}/v1/models`, key);
      if (res.status === 401) {
        assert.match(res.json().error.message, /revoked/);
        refusedAt.push(performance.now() - t0);
        break;
      }
      assert.equal(res.status, 200);
      assert.ok(performance.now() - t0 < 1000, `replica ${r.url} still accepts the key ${Math.round(performance.now() - t0)} ms after revocation`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  assert.ok(Math.max(...refusedAt) < 1000, `refused after ${refusedAt.map(Math.round).join(', ')} ms`);
});

test('an rpm: 30 key hit by 200 concurrent requests over both replicas gets exactly 30 admitted; one usage row per request', { skip }, async () => {
  const { id, key } = await createKey(cluster.replicas[0].url, cluster.adminKey, { name: 'rpm30', rpm: 30, scopes: ['models:read'] });
  const ids = Array.from({ length: 200 }, (_, i) => `rpm30-${i}-${Math.random().toString(36).slice(2)}`);
  const results = await Promise.all(ids.map((rid, i) =>
    call(`${cluster.replicas[i % 2].url}/v1/models`, key, { headers: { 'x-request-id': rid } })));
  const statuses = results.map((r) => r.status);
  const admitted = statuses.filter((s) => s === 200).length;
  const limited = statuses.filter((s) => s === 429).length;
  assert.equal(admitted, 30, `admitted ${admitted}, limited ${limited}, others ${statuses.filter((s) => s !== 200 && s !== 429)}`);
  assert.equal(limited, 170);
  // both replicas admitted some: the window is the cluster's, not one replica's
  const perReplica = [0, 1].map((k) => results.filter((r, i) => i % 2 === k && r.status === 200).length);
  assert.ok(perReplica.every((n) => n > 0), `admitted per replica: ${perReplica}`);
  const refused = results.find((r) => r.status === 429)!;
  assert.equal(refused.headers.get('x-ratelimit-limit-requests'), '30');
  assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  // every request, admitted or not, has exactly one row, committed before its response ended
  const rows = (await db.query('SELECT request_id, status FROM usage WHERE key_id = $1', [id])).rows as { request_id: string; status: number }[];
  assert.equal(rows.length, 200);
  const byId = new Map(rows.map((r) => [r.request_id, r.status]));
  assert.equal(byId.size, 200, 'a request id appears twice');
  ids.forEach((rid, i) => assert.equal(byId.get(rid), statuses[i], `row of ${rid}`));
});

test('chat completions through nginx: JSON and streamed, each with its usage row and token counts', { skip }, async () => {
  const { id, key } = await createKey(cluster.lbUrl, cluster.adminKey, { name: 'chat', scopes: ['inference'] });
  const body = { model: 'stories260K', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 6 };
  const json = await call(`${cluster.lbUrl}/v1/chat/completions`, key, { body, headers: { 'x-request-id': 'chat-json' } });
  assert.equal(json.status, 200, json.text);
  const usage = json.json().usage;
  const stream = await call(`${cluster.lbUrl}/v1/chat/completions`, key, { body: { ...body, stream: true }, headers: { 'x-request-id': 'chat-stream' } });
  assert.equal(stream.status, 200);
  assert.match(stream.text, /data: \[DONE\]\n\n$/);
  const rows = (await db.query('SELECT request_id, status, prompt_tokens, completion_tokens FROM usage WHERE key_id = $1 ORDER BY id', [id])).rows;
  assert.deepEqual(rows.map((r) => r.request_id), ['chat-json', 'chat-stream']);
  assert.equal(rows[0].prompt_tokens, usage.prompt_tokens);
  assert.equal(rows[0].completion_tokens, usage.completion_tokens);
  assert.ok(rows[1].completion_tokens > 0);
});
