// One pool of kernel threads per JavaScript thread: two cpu backends (two loaded models) run on the same workers,
// each on its own memory, and disposing one leaves the other working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createCpuBackend } from './backend.ts';
import { sharedThreadPool } from './thread-pool.ts';
import { matmul as refMatmul } from '../ref/matmul.ts';
import { GGMLType } from '../../gguf/ggml-types.ts';
import type { Backend, WeightTensor } from '../backend.ts';

/** OS threads of this process (Linux: one entry per task). */
const osThreads = () => readdirSync('/proc/self/task').length;

function f32Weight(b: Backend, rows: number, cols: number, seed: number): WeightTensor {
  const data = b.allocWeight(rows * cols * 4);
  const f = new Float32Array(data.buffer, data.byteOffset, rows * cols);
  for (let i = 0; i < f.length; i++) f[i] = Math.sin(seed + i * 0.37);
  return b.adoptWeight({ name: `w${seed}`, type: GGMLType.F32, cols, rows, data });
}

function check(b: Backend, w: WeightTensor, nTok: number): void {
  const xs = Float32Array.from({ length: w.cols * nTok }, (_, i) => Math.cos(i * 0.11));
  const x = b.alloc(xs.length, 'f32', 'scratch');
  b.upload(x, xs);
  const yt = b.alloc(w.rows * nTok, 'f32', 'scratch');
  b.matmul(w, x, nTok, yt);
  const y = b.read(yt) as Float32Array;
  const want = new Float32Array(w.rows * nTok);
  refMatmul(w, xs, nTok, want, true);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(y[i] - want[i]) <= 1e-3 * (1 + Math.abs(want[i])), `y[${i}] ${y[i]} vs ${want[i]}`);
}

test('two cpu backends share one pool: the second adds no thread, and each keeps computing after the other is disposed', {
  skip: process.platform !== 'linux' && 'counts threads through /proc',
}, () => {
  const pool = sharedThreadPool();
  const a = createCpuBackend({ threads: 2, minParallelWork: 0 });
  const wa = f32Weight(a, 64, 256, 1);
  check(a, wa, 3);
  const workers = pool.workerCount;
  assert.equal(workers, 1, 'a 2-thread backend runs on the calling thread plus one worker');
  const afterFirst = osThreads();

  const b = createCpuBackend({ threads: 2, minParallelWork: 0 });
  const wb = f32Weight(b, 96, 128, 2);
  check(b, wb, 5);
  check(a, wa, 2);
  assert.equal(pool.workerCount, workers, 'the second backend reuses the workers');
  assert.equal(osThreads(), afterFirst, 'no OS thread was started for the second backend');

  a.dispose();
  check(b, wb, 1);
  assert.throws(() => a.matmul(wa, a.alloc(256, 'f32', 'scratch'), 1, a.alloc(64, 'f32', 'scratch')), /disposed/);
  b.dispose();
  assert.equal(pool.workerCount, workers, 'disposing backends leaves the pool to the next one');
});

test('the pool grows to the largest thread count asked for', () => {
  const pool = sharedThreadPool();
  const b = createCpuBackend({ threads: 3, minParallelWork: 0 });
  check(b, f32Weight(b, 48, 64, 3), 4);
  assert.ok(pool.workerCount >= 2);
  assert.ok(pool.size >= 3);
  b.dispose();
});
