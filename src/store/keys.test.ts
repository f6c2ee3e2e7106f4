import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Database } from './database.ts';
import { KeyStore, DEFAULT_SCOPES } from './keys.ts';
import { base62, isWellFormed } from './secret.ts';
import { isHearthError } from '../util/errors.ts';

function store(now = () => 1_000_000) {
  const db = Database.open(':memory:');
  return { db, keys: new KeyStore(db, now) };
}

test('base62 writes 32 bytes in 43 digits; zero and the largest value keep the length', () => {
  assert.equal(base62(new Uint8Array(32), 43), '0'.repeat(43));
  const max = base62(new Uint8Array(32).fill(255), 43);
  assert.equal(max.length, 43);
  assert.equal(base62(Uint8Array.of(1, 0), 3), '048'); // 256 = 4*62 + 8
});

test('create returns a well-formed secret once; only its hash and prefix are stored', () => {
  const { db, keys } = store();
  const { key, secret } = keys.create({ name: 'ci' });
  assert.ok(isWellFormed(secret), secret);
  assert.match(key.id, /^key_[0-9A-Za-z]{11}$/);
  assert.equal(key.prefix, secret.slice(0, 12));
  assert.deepEqual(key.scopes, DEFAULT_SCOPES);
  const row = db.db.prepare('SELECT * FROM api_keys').get() as Record<string, unknown>;
  assert.deepEqual(Buffer.from(row.hash as Uint8Array), createHash('sha256').update(secret).digest());
  assert.ok(!Object.values(row).some((v) => typeof v === 'string' && v.includes(secret.slice(12))), 'secret body stored');
  assert.ok(!JSON.stringify(keys.list()).includes(secret.slice(12)));
  // Two keys never share a secret.
  assert.notEqual(keys.create({ name: 'ci' }).secret, secret);
});

test('verify: ok for the key, and why not for malformed, unknown, revoked and expired secrets', () => {
  let now = 1_000_000;
  const { keys } = store(() => now);
  const a = keys.create({ name: 'a', scopes: ['admin'], models: ['m1', 'm2'], rpm: 5, tpm: 100, concurrency: 2 });
  const b = keys.create({ name: 'b', expiresAt: now + 60_000 });
  const v = keys.verify(a.secret);
  assert.ok(v.ok);
  assert.deepEqual({ ...v.key }, { ...a.key });
  assert.deepEqual([v.key.scopes, v.key.models, v.key.rpm, v.key.tpm, v.key.concurrency], [['admin'], ['m1', 'm2'], 5, 100, 2]);
  assert.deepEqual(keys.verify('hth_short'), { ok: false, reason: 'malformed' });
  assert.deepEqual(keys.verify(`Bearer ${a.secret}`), { ok: false, reason: 'malformed' });
  // Same prefix, different body: found by prefix, refused by hash.
  const twin = a.secret.slice(0, 12) + (a.secret[12] === 'x' ? 'y' : 'x') + a.secret.slice(13);
  assert.deepEqual(keys.verify(twin), { ok: false, reason: 'unknown' });
  assert.equal(keys.activeCount(), 2);
  keys.revoke(a.key.id);
  assert.deepEqual(keys.verify(a.secret), { ok: false, reason: 'revoked' });
  assert.ok(keys.verify(b.secret).ok);
  now += 60_000;
  assert.deepEqual(keys.verify(b.secret), { ok: false, reason: 'expired' });
  assert.equal(keys.activeCount(), 0);
});

test('revoke is idempotent and keeps the first revocation time; an unknown id is not_found', () => {
  let now = 5;
  const { keys } = store(() => now);
  const { key } = keys.create({ name: 'x' });
  assert.equal(keys.revoke(key.id).revokedAt, 5);
  now = 9;
  assert.equal(keys.revoke(key.id).revokedAt, 5);
  assert.throws(() => keys.revoke('key_nope'), (e) => isHearthError(e, 'not_found'));
});

test('create checks its options', () => {
  const { keys } = store();
  const bad: [object, RegExp][] = [
    [{ name: '' }, /name/],
    [{ name: 'x'.repeat(65) }, /name/],
    [{ name: 'a', scopes: ['root'] }, /unknown scope "root"/],
    [{ name: 'a', scopes: [] }, /at least one scope/],
    [{ name: 'a', models: [' '] }, /allow-list is empty/],
    [{ name: 'a', rpm: 0 }, /rpm must be a positive integer/],
    [{ name: 'a', tpm: 1.5 }, /tpm/],
    [{ name: 'a', concurrency: -1 }, /concurrency/],
    [{ name: 'a', expiresAt: 1 }, /expire in the future/],
  ];
  for (const [opts, re] of bad) assert.throws(() => keys.create(opts as never), (e) => isHearthError(e, 'invalid_argument') && re.test(e.message), JSON.stringify(opts));
  assert.equal(keys.list().length, 0);
});
