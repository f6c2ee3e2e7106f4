// The batch store: items claimed in order with their attempts, results kept once written, a cancel that stops what is
// unfinished, recovery that puts a stopped server's running items back to pending, and jobs owned by their key.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Database } from './database.ts';
import { BatchStore } from './batches.ts';

const img = (n: number) => new Uint8Array([n, n + 1, n + 2]);

function store(): BatchStore {
  let t = 1000;
  return new BatchStore(Database.open(':memory:'), () => t++);
}

test('claims go in order, one attempt each; results and errors are kept; the image goes once the item is done', () => {
  const s = store();
  const b = s.create({ id: 'batch_1', model: 'm', options: { max_tokens: 4 }, concurrency: 2, items: [{ image: img(1) }, { image: img(2), prompt: 'p' }, { image: img(3) }] });
  assert.equal(b.status, 'running');
  assert.deepEqual(b.counts, { pending: 3, running: 0, completed: 0, failed: 0, cancelled: 0 });
  const a = s.claim('batch_1')!;
  const c = s.claim('batch_1')!;
  assert.deepEqual([a.seq, a.attempts, [...a.image]], [0, 1, [1, 2, 3]]);
  assert.deepEqual([c.seq, c.prompt], [1, 'p']);
  assert.ok(s.complete('batch_1', 1, { text: 'second' }));
  assert.ok(s.fail('batch_1', 0, { code: 'invalid_image', message: 'bad' }));
  assert.equal(s.complete('batch_1', 1, { text: 'again' }), false, 'a finished item is not written twice');
  const items = s.items('batch_1');
  assert.deepEqual(items.map((i) => i.status), ['failed', 'completed', 'pending']);
  assert.deepEqual(items[1]!.result, { text: 'second' });
  assert.deepEqual(items[0]!.error, { code: 'invalid_image', message: 'bad' });
  assert.equal(s.claim('batch_1')!.seq, 2);
  assert.equal(s.claim('batch_1'), undefined);
  assert.ok(s.complete('batch_1', 2, { text: 'third' }));
  assert.ok(s.finish('batch_1'));
  assert.equal(s.get('batch_1')!.status, 'completed');
  assert.equal(s.cancel('batch_1'), false, 'a finished job is not cancelled');
});

test('recover: a stopped server\'s running items go back to pending, finished ones stay; cancel stops the rest', () => {
  const s = store();
  s.create({ id: 'batch_2', model: 'm', options: {}, concurrency: 2, items: [0, 1, 2, 3].map((n) => ({ image: img(n) })) });
  s.claim('batch_2');
  s.claim('batch_2');
  s.complete('batch_2', 0, { text: 'done' });
  // the server stops here: item 1 was running
  assert.deepEqual(s.recover(), ['batch_2']);
  assert.deepEqual(s.items('batch_2').map((i) => [i.status, i.attempts]), [['completed', 1], ['pending', 1], ['pending', 0], ['pending', 0]]);
  const again = s.claim('batch_2')!;
  assert.deepEqual([again.seq, again.attempts], [1, 2]);
  assert.ok(s.cancel('batch_2'));
  assert.deepEqual(s.items('batch_2').map((i) => i.status), ['completed', 'cancelled', 'cancelled', 'cancelled']);
  assert.equal(s.complete('batch_2', 1, { text: 'late' }), false, 'an item cancelled while it ran keeps no result');
  assert.deepEqual(s.recover(), []);
});

test('a job is its key\'s: another key does not see it; one created without a key is everyone\'s', () => {
  const s = store();
  s.create({ id: 'batch_k', keyId: 'k1', model: 'm', options: {}, concurrency: 1, items: [{ image: img(0) }] });
  s.create({ id: 'batch_open', model: 'm', options: {}, concurrency: 1, items: [{ image: img(0) }] });
  assert.ok(s.get('batch_k', 'k1'));
  assert.equal(s.get('batch_k', 'k2'), undefined);
  assert.equal(s.get('batch_k'), undefined);
  assert.ok(s.get('batch_open', 'k2'));
  assert.ok(s.get('batch_k', null), 'the server itself sees every job');
});
