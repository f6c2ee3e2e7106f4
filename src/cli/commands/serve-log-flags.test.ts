// hearth serve's log flags: --log-dir, --log-max-size, --log-rotate, --log-keep.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logFilesFlags } from './serve.ts';

test('serve log flags: sizes, rotation, kept files, "none"; mistakes named', () => {
  assert.deepEqual(logFilesFlags({ 'log-dir': '/l', 'log-max-size': '1MB', 'log-keep': '5' }), { files: { dir: '/l', maxBytes: 1_000_000, keep: 5 }, fallback: false });
  assert.deepEqual(logFilesFlags({ 'log-rotate': 'daily' }, { HEARTH_HOME: '/h' }), { files: { dir: '/h/logs', maxBytes: 10_000_000, keep: 5, daily: true }, fallback: true });
  assert.equal(logFilesFlags({ 'log-max-size': '512KiB', 'log-dir': '/l' }).files!.maxBytes, 512 * 1024);
  assert.deepEqual(logFilesFlags({ 'log-dir': 'none' }), { fallback: false });
  assert.throws(() => logFilesFlags({ 'log-rotate': 'weekly' }), /--log-rotate must be "daily"/);
  assert.throws(() => logFilesFlags({ 'log-max-size': 'big' }), /--log-max-size must be a size/);
  assert.throws(() => logFilesFlags({ 'log-max-size': '10' }), /at least 1KiB/);
  assert.throws(() => logFilesFlags({ 'log-keep': '-1' }), /--log-keep/);
});
