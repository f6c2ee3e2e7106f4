// The shared-memory heap: the 4 GiB limit of wasm32, zeroed and reused regions, views that survive growth.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHearthError } from '../../util/errors.ts';
import { HEAP_START } from './abi.ts';
import { WasmHeap, WASM32_LIMIT } from './heap.ts';

test('a request past 4 GiB fails with out_of_memory naming the limit, before touching memory', () => {
  const heap = new WasmHeap(1 << 20);
  assert.throws(() => heap.alloc(WASM32_LIMIT, 'model weights'),
    (e) => isHearthError(e, 'out_of_memory') && /model weights/.test(e.message) && /4 GiB/.test(e.message));
  // the failed request left the heap usable
  assert.equal(heap.used, HEAP_START);
  assert.ok(heap.alloc(1024, 'x') >= HEAP_START);
});

test('views made before the memory grows stay valid and owned', () => {
  const heap = new WasmHeap(1 << 20);
  const a = heap.allocF32(16, 'a');
  a[3] = 7;
  const big = heap.allocF32(8 << 20, 'b'); // grows the memory
  assert.ok(heap.memory.buffer.byteLength > (32 << 20));
  assert.equal(a[3], 7);
  assert.ok(heap.owns(a) && heap.owns(big));
  assert.equal(heap.owns(new Float32Array(4)), false);
  // a new view of the same bytes sees the old view's write
  assert.equal(heap.f32(a.byteOffset, 16)[3], 7);
});

test('a released region is reused for the same size and comes back zeroed', () => {
  const heap = new WasmHeap(1 << 20);
  const p = heap.alloc(1000, 'x');
  heap.bytes(p, 1000).fill(9);
  heap.release(p, 1000);
  const q = heap.alloc(1000, 'y');
  assert.equal(q, p);
  assert.ok(heap.bytes(q, 1000).every((b) => b === 0));
  assert.notEqual(heap.alloc(1000, 'z'), p);
});

test('released neighbours merge, a larger request fits the merged region, and freeing the highest lowers the top', () => {
  const heap = new WasmHeap(1 << 20);
  const a = heap.alloc(640, 'a');
  const b = heap.alloc(640, 'b');
  const c = heap.alloc(640, 'c');
  const top = heap.used;
  heap.release(a, 640);
  heap.release(b, 640);
  assert.equal(heap.freeBytes, 1280);
  assert.equal(heap.alloc(1200, 'd'), a); // the merged a+b
  heap.release(a, 1200);
  heap.release(c, 640); // the highest: the top falls past the free a+b as well
  assert.equal(heap.used, HEAP_START);
  assert.equal(heap.freeBytes, 0);
  assert.equal(heap.highWater, top);
  // memory the top grows back into comes back zeroed
  heap.bytes(HEAP_START, 64).fill(5);
  const e = heap.alloc(64, 'e');
  assert.ok(heap.bytes(e, 64).every((x) => x === 0));
  assert.throws(() => heap.release(c, 640), (err) => isHearthError(err, 'invalid_argument'));
});

test('allocations of every length, each freed before the next, do not raise the high-water mark past the largest', () => {
  const heap = new WasmHeap(1 << 20);
  const weights = heap.alloc(1 << 16, 'weights'); // something live below
  for (let n = 1; n <= 512; n++) {
    const act = heap.alloc(n * 3072, 'activations');
    const logits = heap.alloc(n * 2048, 'logits');
    heap.release(act, n * 3072);
    heap.release(logits, n * 2048);
  }
  assert.ok(heap.highWater <= weights + (1 << 16) + 512 * 5120 + 128, `${heap.highWater}`);
  assert.equal(heap.used, weights + (1 << 16));
});

test('interleaved lifetimes: best fit keeps the span near what is live', () => {
  const heap = new WasmHeap(1 << 20);
  const live = new Map<number, number>();
  let seed = 7;
  const rnd = (k: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % k);
  let peakLive = 0;
  for (let i = 0; i < 5000; i++) {
    if (live.size > 0 && (rnd(2) === 0 || live.size > 20)) {
      const keys = [...live.keys()];
      const p = keys[rnd(keys.length)];
      heap.release(p, live.get(p)!);
      live.delete(p);
    } else {
      const n = (1 + rnd(256)) * 64;
      live.set(heap.alloc(n, 'x'), n);
    }
    let sum = 0;
    for (const v of live.values()) sum += v;
    peakLive = Math.max(peakLive, sum);
  }
  for (const [p, n] of live) heap.release(p, n);
  assert.equal(heap.used, HEAP_START);
  assert.ok(heap.highWater - HEAP_START < peakLive * 3, `span ${heap.highWater - HEAP_START} vs live peak ${peakLive}`);
});
