import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Database } from './database.ts';
import { UsageLog, type UsageEntry } from './usage.ts';
import { parseDuration, parseSince } from './duration.ts';

test('summary groups by key, route or model, filtered by key and time', () => {
  const log = new UsageLog(Database.open(':memory:'));
  const e = (o: Partial<UsageEntry>): UsageEntry => ({ at: 1000, method: 'POST', route: '/v1/chat/completions', status: 200, durationMs: 10, ...o });
  log.record(e({ keyId: 'k1', model: 'm', promptTokens: 5, completionTokens: 7, durationMs: 10 }));
  log.record(e({ keyId: 'k1', model: 'm', promptTokens: 3, completionTokens: 1, durationMs: 30, at: 2000 }));
  log.record(e({ keyId: 'k1', status: 429, durationMs: 2, at: 3000 }));
  log.record(e({ keyId: 'k2', route: '/api/embed', model: 'm', promptTokens: 4, at: 4000 }));
  log.record(e({ status: 401, route: '/v1/models', method: 'GET', durationMs: 1, at: 5000 }));

  const byKey = log.summary();
  assert.deepEqual(byKey.map((r) => [r.group, r.requests, r.errors, r.rateLimited, r.promptTokens, r.completionTokens]),
    [['k1', 3, 1, 1, 8, 8], [null, 1, 1, 0, 0, 0], ['k2', 1, 0, 0, 4, 0]]);
  assert.equal(byKey[0].meanMs, 14);
  assert.deepEqual([byKey[0].firstAt, byKey[0].lastAt], [1000, 3000]);
  assert.deepEqual(log.summary({ keyId: 'k1', since: 2000 }).map((r) => [r.group, r.requests]), [['k1', 2]]);
  assert.deepEqual(log.summary({ by: 'route' }).map((r) => [r.group, r.requests]),
    [['/v1/chat/completions', 3], ['/api/embed', 1], ['/v1/models', 1]]);
  assert.deepEqual(log.summary({ by: 'model', since: 4000 }).map((r) => [r.group, r.promptTokens]), [[null, 0], ['m', 4]]);
  assert.deepEqual([...log.lastUsed()], [['k1', 3000], ['k2', 4000]]);
});

test('durations and since', () => {
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('30d'), 30 * 86_400_000);
  assert.equal(parseDuration('2w'), 14 * 86_400_000);
  for (const bad of ['', '10', 'd', '-1d', '0s', '1y', '1 d']) assert.throws(() => parseDuration(bad), /not a duration/, bad);
  assert.equal(parseSince('24h', 100_000_000), 100_000_000 - 86_400_000);
  assert.equal(parseSince('2025-01-31T00:00:00Z', 0), Date.UTC(2025, 0, 31));
  assert.throws(() => parseSince('2025-13-45', 0), /not a valid date/);
});
