// hearth fit, hearth system and the CLI's newcomer messages, as a person runs them: a real subprocess on the
// project's Node. Measured: ~10 s alone on 2 shared cores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, sharedPath } from './shared.ts';
import { estimateModelBytes } from '../src/engine/fit.ts';

const STORIES = sharedPath('models', 'stories260K.gguf');

function hearth(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'hearth.js'), ...args], {
    encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('fit prints the estimate (plain and --json) for a context size', () => {
  const r = hearth(['fit', STORIES, '--ctx', '256', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  assert.deepEqual(got, estimateModelBytes(STORIES, { nCtx: 256 }));
  assert.equal(got.nCtx, 256);
  assert.equal(got.total, got.weights + got.kv + got.scratch + got.threads);
  const small = JSON.parse(hearth(['fit', STORIES, '--ctx', '64', '--json']).stdout);
  assert.ok(small.kv < got.kv, 'a smaller context needs a smaller KV cache');
  const plain = hearth(['fit', STORIES, '--ctx', '256']);
  assert.equal(plain.code, 0);
  assert.match(plain.stdout, /kv cache\s+[\d.]+ MiB/);
  assert.match(plain.stdout, /total\s+[\d.]+ MiB/);
});
