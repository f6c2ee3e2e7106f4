// Sandbox.run's interface: languages, arguments, stdin, the workspace, cancellation, and refusals before anything runs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bwrapSandbox } from '../../src/sandbox/bwrap-sandbox.ts';
import { isHearthError } from '../../src/util/errors.ts';
import type { Sandbox } from '../../src/sandbox/types.ts';

let sb: Sandbox;
let ws: string;
before(() => {
  sb = bwrapSandbox();
  ws = mkdtempSync(join(tmpdir(), 'hearth-run-'));
  chmodSync(ws, 0o711);
});
after(() => rmSync(ws, { recursive: true, force: true }));

test('each language gets its arguments and stdin, and reads and writes the workspace', { timeout: 60_000 }, async () => {
  writeFileSync(join(ws, 'in.txt'), 'seven');
  const programs = {
    python: 'import sys\nopen("py.txt", "w").write(open("in.txt").read() + sys.argv[1] + sys.stdin.read())',
    node: 'import fs from "node:fs";\nfs.writeFileSync("js.txt", fs.readFileSync("in.txt", "utf8") + process.argv[2] + fs.readFileSync(0, "utf8"));',
    bash: 'printf "%s%s%s" "$(cat in.txt)" "$1" "$(cat)" > sh.txt',
  } as const;
  for (const [language, code] of Object.entries(programs) as [keyof typeof programs, string][]) {
    const r = await sb.run({ language, code, workspace: ws, args: ['-arg-'], stdin: 'stdin' });
    assert.equal(r.exitCode, 0, `${language}: ${r.stderr}`);
  }
  for (const f of ['py.txt', 'js.txt', 'sh.txt']) assert.equal(readFileSync(join(ws, f), 'utf8'), 'seven-arg-stdin', f);
});

test('an aborted run is killed and rejects with aborted', { timeout: 30_000 }, async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 300);
  const t0 = performance.now();
  await assert.rejects(sb.run({ language: 'bash', code: 'sleep 60', workspace: ws, signal: ac.signal }), (e) => isHearthError(e, 'aborted'));
  assert.ok(performance.now() - t0 < 10_000);
});

test('a workspace that is missing, or below a folder the run cannot search, is refused before anything runs', async () => {
  await assert.rejects(sb.run({ language: 'bash', code: 'true', workspace: join(ws, 'nope') }), (e) => isHearthError(e, 'invalid_argument'));
  if (process.getuid?.() !== 0) return; // the search check is for root, which hands the run to another uid
  const closed = mkdtempSync(join(tmpdir(), 'hearth-closed-')); // mode 0700
  try {
    // the closed folder itself is a fine workspace (it is handed to the run's uid); one below it is not reachable
    assert.equal((await sb.run({ language: 'bash', code: 'true', workspace: closed })).exitCode, 0);
    const inner = join(closed, 'ws');
    mkdirSync(inner);
    await assert.rejects(sb.run({ language: 'bash', code: 'true', workspace: inner }), (e) => isHearthError(e, 'sandbox_unavailable') && /not searchable/.test(e.message));
  } finally {
    rmSync(closed, { recursive: true, force: true });
  }
});
