// Replica choice: the checkpoints of a growing conversation start with the previous turn's, a different system
// prompt or model shares none; prefix routing takes the replica with the longest served prefix unless it is more
// than max_imbalance requests busier than the least loaded; least_load and round_robin; the table stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NativeRequest } from '../../api/native.ts';
import type { ChatMessage } from '../../chat/template.ts';
import { prefixCheckpoints, ReplicaRouter } from './replicas.ts';

const chat = (messages: ChatMessage[]): NativeRequest => ({ model: 'm', prompts: [{ kind: 'chat', messages }], n: 1, sampling: {}, stop: [], stream: false });
const SYSTEM: ChatMessage = { role: 'system', content: 'You are a careful assistant who answers in one short paragraph. '.repeat(3) };
const turn1 = [SYSTEM, { role: 'user', content: 'Tell me a story about a cat.' }] as ChatMessage[];
const turn2 = [...turn1, { role: 'assistant', content: 'Once upon a time there was a cat.' }, { role: 'user', content: 'And then?' }] as ChatMessage[];

test('a growing conversation keeps every checkpoint of its previous turn; another system prompt or model shares none', () => {
  const a = prefixCheckpoints(chat(turn1), 'm');
  const b = prefixCheckpoints(chat(turn2), 'm');
  assert.ok(a.length >= 4, `checkpoints every 64 characters and at each message end: ${a.length}`);
  assert.deepEqual(b.slice(0, a.length), a);
  assert.ok(b.length > a.length);
  for (let i = 1; i < b.length; i++) assert.ok(b[i]!.at > b[i - 1]!.at);
  const other = prefixCheckpoints(chat([{ role: 'system', content: 'Be brief.' }, ...turn1.slice(1)]), 'm');
  assert.equal(other.filter((c) => a.some((x) => x.hash === c.hash)).length, 0);
  const model = prefixCheckpoints(chat(turn1), 'other-model');
  assert.equal(model.filter((c) => a.some((x) => x.hash === c.hash)).length, 0);
});

test('prefix: the replica that served the longest prefix, unless it is busier than the least loaded by more than max_imbalance', () => {
  const r = new ReplicaRouter(3, 'prefix', 2);
  const k1 = prefixCheckpoints(chat(turn1), 'm');
  const k2 = prefixCheckpoints(chat(turn2), 'm');
  r.record(2, k1);
  assert.equal(r.matched(2, k2), k1.at(-1)!.at);
  assert.equal(r.matched(0, k2), 0);
  assert.equal(r.choose([0, 1, 2], [0, 0, 0], k2), 2);
  assert.equal(r.choose([0, 1, 2], [1, 0, 2], k2), 2, 'two more in flight is within max_imbalance');
  assert.equal(r.choose([0, 1, 2], [1, 0, 3], k2), 1, 'three more: the least loaded');
  assert.equal(r.choose([0, 1], [0, 0, 0], k2) !== 2, true, 'an unavailable replica is not chosen');
  // a longer match elsewhere wins
  r.record(0, k2);
  assert.equal(r.choose([0, 1, 2], [0, 0, 0], k2), 0);
  // the system prompt alone is a shared prefix too: a new conversation with it goes where it was served
  const fresh = prefixCheckpoints(chat([SYSTEM, { role: 'user', content: 'Something else entirely.' }]), 'm');
  assert.ok(r.matched(0, fresh) > 0);
  assert.equal(r.choose([1, 2], [0, 0, 0], fresh), 2);
  // nothing shared: least load
  const none = prefixCheckpoints(chat([{ role: 'user', content: 'Hi' }]), 'm');
  assert.equal(r.choose([0, 1, 2], [3, 1, 2], none), 1);
});

test('least_load takes the fewest in flight, ties in turn; round_robin cycles over the available ones', () => {
  const l = new ReplicaRouter(3, 'least_load', 4);
  assert.equal(l.choose([0, 1, 2], [2, 1, 3], []), 1);
  const ties = Array.from({ length: 6 }, () => l.choose([0, 1, 2], [0, 0, 0], []));
  assert.deepEqual(ties.slice(0, 3).sort(), [0, 1, 2]);
  const rr = new ReplicaRouter(3, 'round_robin', 4);
  assert.deepEqual(Array.from({ length: 6 }, () => rr.choose([0, 1, 2], [5, 0, 0], [])), [0, 1, 2, 0, 1, 2]);
  assert.deepEqual(Array.from({ length: 4 }, () => rr.choose([0, 2], [0, 0, 0], [])), [0, 2, 0, 2]);
});

test('each replica table keeps at most maxEntries checkpoints, the newest', () => {
  const r = new ReplicaRouter(2, 'prefix', 4, { maxEntries: 10 });
  const old = prefixCheckpoints(chat(turn1), 'm');
  r.record(0, old);
  const long = prefixCheckpoints(chat([{ role: 'user', content: 'x'.repeat(64 * 20) }]), 'm');
  r.record(0, long);
  assert.equal(r.sizes()[0], 10);
  assert.equal(r.matched(0, old), 0, 'the oldest went first');
  assert.equal(r.matched(0, long), long.at(-1)!.at);
});
