// The ModelManager's bookkeeping with providers that only record their close (the server test,
// test/server/models.test.ts, runs it over real models): --max-loaded, busy models are never evicted, a failed load
// holds no memory and can be retried, unload of a busy model waits for its request, keep-alive timers, close.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HearthError } from '../util/errors.ts';
import type { LibraryModel, ModelSource } from '../library/types.ts';
import { ModelManager, parseMemorySize } from './model-manager.ts';
import type { Provider } from './types.ts';

const model = (name: string): LibraryModel => ({ name, path: `/models/${name}.gguf`, parts: [`/models/${name}.gguf`], size: 1, addedAt: new Date(0), modifiedAt: new Date(0) });
const source = (...names: string[]): ModelSource => {
  const all = names.map(model);
  return { list: () => all, get: (n) => all.find((m) => m.name === n.toLowerCase().replace(/:latest$/, '')) };
};

function fixture(o: { names?: string[]; maxLoaded?: number; maxMemory?: number; sizes?: Record<string, number>; keepAliveMs?: number; fail?: Set<string> } = {}) {
  const closed: string[] = [];
  const loads: string[] = [];
  const manager = new ModelManager({
    source: source(...(o.names ?? ['a', 'b', 'c'])),
    load: async (m) => {
      loads.push(m.name);
      if (o.fail?.has(m.name)) throw new HearthError('model_invalid', `${m.name} is broken`);
      return { card: { id: m.name }, close: () => { closed.push(m.name); } } as unknown as Provider;
    },
    estimate: (m) => o.sizes?.[m.name] ?? 10,
    maxLoaded: o.maxLoaded,
    maxMemory: o.maxMemory ?? 1000,
    keepAliveMs: o.keepAliveMs,
  });
  return { manager, closed, loads };
}

const names = (m: ModelManager) => m.list().map((x) => x.name);

test('memory sizes read as people write them', () => {
  assert.equal(parseMemorySize('8GiB'), 8 * 1024 ** 3);
  assert.equal(parseMemorySize('512MiB'), 512 * 1024 ** 2);
  assert.equal(parseMemorySize('2GB'), 2e9);
  assert.equal(parseMemorySize('1048576'), 1048576);
  assert.throws(() => parseMemorySize('lots'), /--max-memory must be a size/);
});

test('--max-loaded: the least recently used idle model makes way; when all are busy the request is told to retry', async () => {
  const { manager, closed } = fixture({ maxLoaded: 2 });
  const a = await manager.acquire('a');
  const b = await manager.acquire('b');
  await assert.rejects(manager.acquire('c'), (e) => e instanceof HearthError && e.code === 'unavailable' && /at most 2, --max-loaded/.test(e.message));
  a.release();
  const c = await manager.acquire('c');
  assert.deepEqual(closed, ['a']);
  assert.deepEqual(names(manager), ['b', 'c']);
  b.release(); c.release();
  await manager.close();
});

test('a model the busy ones leave no room for is insufficient_memory, and the busy ones stay', async () => {
  const { manager, closed } = fixture({ maxMemory: 25 });
  const a = await manager.acquire('a');
  const b = await manager.acquire('b');
  await assert.rejects(manager.acquire('c'), (e) => e instanceof HearthError && e.code === 'insufficient_memory' && /every loaded model is busy; loaded: a .*\(busy\), b/.test(e.message));
  assert.deepEqual(closed, []);
  a.release(); b.release();
  await manager.close();
});

test('a failed load holds no memory and the next request tries again', async () => {
  const fail = new Set(['a']);
  const { manager, loads } = fixture({ fail, maxMemory: 15 });
  await assert.rejects(manager.acquire('a'), /a is broken/);
  assert.deepEqual(names(manager), []);
  (await manager.acquire('b')).release(); // b fits: a holds nothing
  fail.delete('a');
  (await manager.acquire('a')).release();
  assert.deepEqual(loads, ['a', 'b', 'a']);
  await manager.close();
});

test('unloading a busy model waits for its request; keep-alive timers unload an idle one', async () => {
  const { manager, closed } = fixture({ keepAliveMs: 30 });
  const a = await manager.acquire('a');
  const unloading = manager.unload('a');
  assert.deepEqual(closed, []);
  a.release();
  await unloading;
  assert.deepEqual(closed, ['a']);
  (await manager.acquire('b')).release();
  assert.ok(manager.list()[0]!.expiresAt!.getTime() - Date.now() <= 30);
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(closed, ['a', 'b']);
  const c = await manager.acquire('c', { keepAliveMs: -1 });
  c.release();
  assert.equal(manager.list()[0]!.expiresAt, undefined);
  await manager.close();
  await assert.rejects(manager.acquire('a'), /shutting down/);
  assert.deepEqual(closed, ['a', 'b', 'c']);
});

test('readiness: loaded, loadable within the budget, and the reasons a model is not ready', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-ready-'));
  try {
    const file = (name: string) => {
      const path = join(dir, `${name}.gguf`);
      writeFileSync(path, 'x');
      return { ...model(name), path, parts: [path] };
    };
    const all = [file('small'), file('huge'), model('gone'), file('broken'), file('bad')];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const manager = new ModelManager({
      source: { list: () => all, get: (n) => all.find((m) => m.name === n) },
      load: async (m) => {
        if (m.name === 'bad') throw new HearthError('model_invalid', 'bad is broken');
        await gate;
        return { card: { id: m.name }, close: () => {} } as unknown as Provider;
      },
      estimate: (m) => {
        if (m.name === 'broken') throw new Error('not a GGUF file');
        return m.name === 'huge' ? 5000 : 10;
      },
      maxMemory: 1000,
    });
    assert.deepEqual(manager.readiness('small'), { ready: true, state: 'loadable' });
    assert.deepEqual(manager.readiness('huge'), { ready: false, state: 'too_big', reason: 'model "huge" needs 0.0 MiB, more than the memory budget (0.0 MiB)' });
    assert.equal(manager.readiness('gone').state, 'missing_file');
    assert.match((manager.readiness('gone') as { reason: string }).reason, /its file \/models\/gone\.gguf is gone/);
    assert.deepEqual(manager.readiness('broken'), { ready: false, state: 'missing_file', reason: 'model "broken" cannot be read: not a GGUF file' });
    assert.equal(manager.readiness('nope').state, 'not_found');
    const loading = manager.preload('small');
    assert.deepEqual(manager.readiness('small'), { ready: false, state: 'loading', reason: 'model "small" is loading' });
    release();
    await loading;
    assert.deepEqual(manager.readiness('small'), { ready: true, state: 'loaded' });
    await manager.preload('bad').catch(() => {});
    assert.deepEqual(manager.readiness('bad'), { ready: false, state: 'failed', reason: 'model "bad" failed to load: bad is broken' });
    await manager.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a model given at start: a request while it loads is told to retry, unless it asks to wait (waitForStartup)', async () => {
  let finish!: () => void;
  const gate = new Promise<void>((r) => (finish = r));
  const manager = new ModelManager({
    source: source('a'),
    load: async (m) => {
      await gate;
      return { card: { id: m.name }, close: () => {} } as unknown as Provider;
    },
    estimate: () => 10,
    maxMemory: 1000,
  });
  const started = manager.preload('a');
  await assert.rejects(manager.acquire('a'), (e) => e instanceof HearthError && e.code === 'unavailable' && /still loading/.test(e.message));
  let waited = false;
  const waiting = manager.acquire('a', { waitForStartup: true }).then((l) => ((waited = true), l));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(waited, false);
  finish();
  const lease = await waiting;
  assert.equal(lease.provider.card.id, 'a');
  await started;
  lease.release();
  await manager.close();
});
