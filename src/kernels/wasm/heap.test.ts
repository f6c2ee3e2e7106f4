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
