import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { coalesce } from './sse.ts';

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const s of it) out.push(s);
  return out;
}

test('coalesce: frames ready at once go out together, a frame that comes later goes alone', async () => {
  async function* src() {
    yield 'a'; yield 'b'; yield 'c'; // produced without waiting: one write
    await sleep(20);
    yield 'd';
    await sleep(20);
    yield 'e'; yield 'f';
  }
  assert.deepEqual(await collect(coalesce(src())), ['abc', 'd', 'ef']);
});

test('coalesce: nothing is held back waiting for the next frame', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  async function* src() {
    yield 'first';
    await gate;
    yield 'second';
  }
  const it = coalesce(src());
  const t0 = performance.now();
  assert.deepEqual(await it.next(), { value: 'first', done: false });
  assert.ok(performance.now() - t0 < 1000);
  release();
  assert.deepEqual(await it.next(), { value: 'second', done: false });
  assert.deepEqual(await it.next(), { value: undefined, done: true });
});

test('coalesce: frames taken before a failure are sent, then the failure', async () => {
  async function* src() {
    yield 'x'; yield 'y';
    throw new Error('upstream broke');
  }
  const seen: string[] = [];
  await assert.rejects(async () => { for await (const s of coalesce(src())) seen.push(s); }, /upstream broke/);
  assert.deepEqual(seen, ['xy']);
});

test('coalesce: a consumer that stops ends the source (its finally runs)', async () => {
  let closed = false;
  async function* src() {
    try {
      for (let i = 0; ; i++) { yield String(i); await sleep(5); }
    } finally {
      closed = true;
    }
  }
  for await (const s of coalesce(src())) if (s === '2') break;
  assert.equal(closed, true);
});
