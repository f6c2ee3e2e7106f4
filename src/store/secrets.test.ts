// Provider secrets: stored encrypted (no plaintext in the database file), read back with the key file, refused with
// another key, listed by name only, removed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Database } from './database.ts';
import { SecretStore } from './secrets.ts';

test('set, get, list, remove; ciphertext only in the database; the key file is 0600 and outside it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-secrets-'));
  try {
    const db = Database.open(join(dir, 'hearth.db'));
    const keyPath = join(dir, 'secret.key');
    const store = new SecretStore(db, keyPath);
    store.set('openai', 'sk-PLAINTEXT-value-123');
    assert.equal(store.get('openai'), 'sk-PLAINTEXT-value-123');
    assert.equal(store.get('other'), undefined);
    assert.equal(statSync(keyPath).mode & 0o777, 0o600);
    store.set('openai', 'sk-second');
    assert.equal(store.get('openai'), 'sk-second');
    assert.deepEqual(store.list().map((s) => s.name), ['openai']);
    db.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    assert.ok(!readFileSync(join(dir, 'hearth.db')).includes('sk-second'));
    // another key cannot read it
    writeFileSync(keyPath, randomBytes(32).toString('hex'));
    assert.throws(() => store.get('openai'), /does not decrypt/);
    assert.throws(() => store.set('bad name', 'x'), /secret name/);
    assert.equal(store.remove('openai'), true);
    assert.equal(store.remove('openai'), false);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
