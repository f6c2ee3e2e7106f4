import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Database } from './database.ts';
import { ResponseStore, type StoredResponse } from './responses.ts';

const row = (id: string, o: Partial<StoredResponse> = {}): StoredResponse => ({
  id, createdAt: Date.now(), model: 'm', input: [{ id: `msg_${id}`, type: 'message' }], response: { id, output: [] }, ...o,
});

test('put, get, item and delete; a key sees only its own responses and those written without a key', () => {
  const store = new ResponseStore(Database.open(':memory:'));
  store.put(row('resp_a', { keyId: 'k1', response: { id: 'resp_a', output: [{ id: 'msg_out', type: 'message' }] } }));
  store.put(row('resp_open'));
  assert.deepEqual(store.get('resp_a', 'k1')?.response, { id: 'resp_a', output: [{ id: 'msg_out', type: 'message' }] });
  assert.equal(store.get('resp_a', 'k2'), undefined);
  assert.equal(store.get('resp_a'), undefined);
  assert.equal(store.get('resp_open', 'k2')?.id, 'resp_open');
  assert.equal(store.delete('resp_a', 'k2'), false);
  assert.deepEqual(store.item('msg_out', 'k1'), { id: 'msg_out', type: 'message' });
  assert.equal(store.item('msg_out', 'k2'), undefined);
  assert.equal(store.delete('resp_a', 'k1'), true);
  assert.equal(store.item('msg_out', 'k1'), undefined);
  assert.equal(store.get('resp_a', 'k1'), undefined);
  assert.equal(store.delete('resp_a', 'k1'), false);
});

test('chain: the responses a conversation went through, oldest first; a deleted one ends the walk', () => {
  const store = new ResponseStore(Database.open(':memory:'));
  store.put(row('resp_1'));
  store.put(row('resp_2', { previousId: 'resp_1' }));
  store.put(row('resp_3', { previousId: 'resp_2' }));
  assert.deepEqual(store.chain('resp_3')?.map((r) => r.id), ['resp_1', 'resp_2', 'resp_3']);
  assert.deepEqual(store.chain('resp_1')?.map((r) => r.id), ['resp_1']);
  assert.equal(store.chain('resp_nope'), undefined);
  store.delete('resp_2');
  assert.deepEqual(store.chain('resp_3')?.map((r) => r.id), ['resp_3']);
});

test('responses older than the retention are dropped, with their items, at the next put', () => {
  const clock = { t: 1000 };
  const store = new ResponseStore(Database.open(':memory:'), { retentionMs: 500, now: () => clock.t });
  store.put(row('resp_old', { createdAt: 1000, response: { id: 'resp_old', output: [{ id: 'msg_old' }] } }));
  clock.t = 1400;
  store.put(row('resp_new', { createdAt: 1400 }));
  assert.equal(store.get('resp_old')?.id, 'resp_old');
  clock.t = 1600;
  store.put(row('resp_newer', { createdAt: 1600 }));
  assert.equal(store.get('resp_old'), undefined);
  assert.equal(store.item('msg_old'), undefined);
  assert.equal(store.get('resp_new')?.id, 'resp_new');
});
