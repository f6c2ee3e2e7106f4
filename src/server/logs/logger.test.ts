// The logger's files: lines by component in their own files, redacted; a worker that fails (its folder replaced by
// a file, so the next rotation cannot open) is reported once and logging goes on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from './logger.ts';
import { listLogFiles } from './files.ts';

test('lines go to their component\'s file, redacted; close() writes them out', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'hearth-logger-')), 'logs');
  try {
    const logs = createLogger({ level: 'info', stdout: false, files: { dir, keep: 2 } });
    logs.logger.info({ headers: { authorization: 'Bearer abc.def' } }, 'key hth_0123456789abcdef');
    logs.logger.info({ component: 'access', status: 200 }, 'request');
    logs.component('engine').warn({ model: 'm' }, 'model ready');
    logs.logger.debug('not at this level');
    await logs.close();
    const files = listLogFiles(dir);
    assert.deepEqual(files.map((f) => f.name).sort(), ['access.1.log', 'engine.1.log', 'server.1.log']);
    const read = (c: string) => readFileSync(files.find((f) => f.component === c)!.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(read('server').map((l) => [l.msg, l.headers]), [['key hth_[REDACTED]', { authorization: '[REDACTED]' }]]);
    assert.deepEqual(read('access').map((l) => [l.component, l.status]), [['access', 200]]);
    assert.deepEqual(read('engine').map((l) => [l.component, l.level, l.model]), [['engine', 40, 'm']]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a log folder that fails mid-run: reported once, the server\'s logging goes on', async () => {
  const root = mkdtempSync(join(tmpdir(), 'hearth-logger-'));
  const dir = join(root, 'logs');
  try {
    const errors: Error[] = [];
    const logs = createLogger({ level: 'info', stdout: false, files: { dir, keep: 2, maxBytes: 2048 }, onFileError: (e) => errors.push(e) });
    for (let i = 0; i < 20; i++) logs.logger.info({ i }, 'before');
    await new Promise((r) => setTimeout(r, 300));
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(dir, 'not a folder');
    for (let round = 0; round < 40 && errors.length === 0; round++) {
      for (let i = 0; i < 50; i++) logs.logger.info({ i }, 'after');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(errors.length, 1, 'the failure is reported');
    for (let i = 0; i < 50; i++) logs.logger.info({ i }, 'still logging');
    await logs.close();
    assert.equal(errors.length, 1, 'once');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('--log-rotate daily: the day is in the file name (local date), as hearth logs reads it', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'hearth-logger-')), 'logs');
  try {
    const logs = createLogger({ level: 'info', stdout: false, files: { dir, keep: 2, daily: true, maxBytes: 1024 } });
    // in bursts (pino-roll rolls once a write has taken the file past the size) until it has rolled a few times
    for (let burst = 0; burst < 40 && Math.max(0, ...listLogFiles(dir).map((f) => f.n)) < 4; burst++) {
      for (let i = 0; i < 15; i++) logs.logger.info({ i }, 'a line of about a hundred bytes');
      await new Promise((r) => setTimeout(r, 150));
    }
    await logs.close();
    const now = new Date();
    const day = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
    const files = listLogFiles(dir);
    assert.ok(files.length === 3 && files.at(-1)!.n >= 4, files.map((f) => f.name).join(' '));
    for (const f of files) assert.equal(f.day, day, f.name);
    assert.deepEqual(files.map((f) => f.n), files.map((_, i) => files[0]!.n + i));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
