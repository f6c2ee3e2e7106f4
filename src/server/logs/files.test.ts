// The log folder's names (as pino-roll writes them) and a line made readable.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultLogDir, formatLogLine, lineTime, listLogFiles } from './files.ts';

test('listLogFiles: components in order of day then number; other files ignored', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-logfiles-'));
  try {
    for (const n of ['access.10.log', 'access.9.log', 'server.2026-12-08.1.log', 'server.2026-12-07.3.log', 'engine.1.log', 'notes.txt', 'access.log', 'other.1.log']) writeFileSync(join(dir, n), '');
    assert.deepEqual(listLogFiles(dir).map((f) => f.name), ['access.9.log', 'access.10.log', 'engine.1.log', 'server.2026-12-07.3.log', 'server.2026-12-08.1.log']);
    assert.deepEqual(listLogFiles(join(dir, 'missing')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(defaultLogDir({ HEARTH_HOME: '/srv/hearth' }), '/srv/hearth/logs');
});

test('formatLogLine: time, level, component, request id, message, then the fields', () => {
  const line = JSON.stringify({ level: 30, time: Date.UTC(2026, 11, 8, 0, 29, 57, 882), pid: 1, hostname: 'h', reqId: 'req-a', component: 'access', method: 'POST', route: '/v1/completions', status: 200, ignored_fields: ['x'], note: 'two words', msg: 'request' });
  assert.equal(formatLogLine(line), '2026-12-08 00:29:57.882 INFO  access [req-a] request  method=POST route=/v1/completions status=200 ignored_fields=["x"] note="two words"');
  assert.equal(formatLogLine(JSON.stringify({ level: 50, time: 0, msg: 'boom', err: 'disk full' })), '1970-01-01 00:00:00.000 ERROR server boom  err="disk full"');
  assert.equal(formatLogLine('not json'), 'not json');
  assert.equal(lineTime(line), Date.UTC(2026, 11, 8, 0, 29, 57, 882));
});
