// hearth fit, hearth system and the CLI's newcomer messages, as a person runs them: a real subprocess on the
// project's Node. Measured: ~10 s alone on 2 shared cores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, sharedPath } from './shared.ts';
import { estimateModelBytes } from '../src/engine/fit.ts';
import { cgroupMemoryLimit } from '../src/engine/system.ts';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';

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
  assert.equal(got.backendTotal, got.weights + got.kv + got.scratch + got.threads);
  assert.equal(got.total, got.backendTotal + got.metadata);
  const small = JSON.parse(hearth(['fit', STORIES, '--ctx', '64', '--json']).stdout);
  assert.ok(small.kv < got.kv, 'a smaller context needs a smaller KV cache');
  const plain = hearth(['fit', STORIES, '--ctx', '256']);
  assert.equal(plain.code, 0);
  assert.match(plain.stdout, /kv cache\s+[\d.]+ MiB/);
  assert.match(plain.stdout, /metadata\s+[\d.]+ MiB/);
  assert.match(plain.stdout, /total\s+[\d.]+ MiB/);
});

test('system prints cores, memory, the cgroup limit and WebGPU adapters (or why there are none)', () => {
  const r = hearth(['system', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.cores, availableParallelism());
  assert.equal(s.totalMemory, totalmem());
  assert.ok(s.freeMemory > 0 && s.freeMemory <= s.totalMemory);
  assert.ok(s.cgroupLimit === null || s.cgroupLimit === undefined || (Number.isInteger(s.cgroupLimit) && s.cgroupLimit > 0));
  assert.ok(Array.isArray(s.gpu.adapters));
  assert.ok(s.gpu.adapters.length > 0 || typeof s.gpu.unavailable === 'string', 'no adapter says why');
  for (const a of s.gpu.adapters) {
    assert.equal(typeof a.description, 'string');
    assert.equal(typeof a.shaderF16, 'boolean');
    assert.equal(typeof a.subgroups, 'boolean');
    assert.ok(a.limits.maxBufferSize > 0);
  }
  const plain = hearth(['system']);
  assert.match(plain.stdout, new RegExp(`cores\\s+${availableParallelism()}\\n`));
  assert.match(plain.stdout, /cgroup limit\s+\S+/);
  assert.match(plain.stdout, /webgpu\s+\S+/);
});

test('cgroupMemoryLimit: v2 "max" is none, a number is bytes, v1 is read when v2 is absent', () => {
  const root = mkdtempSync(join(tmpdir(), 'hearth-cg-'));
  assert.equal(cgroupMemoryLimit(root), undefined);
  mkdirSync(join(root, 'memory'));
  writeFileSync(join(root, 'memory', 'memory.limit_in_bytes'), '1073741824\n');
  assert.equal(cgroupMemoryLimit(root), 1073741824);
  writeFileSync(join(root, 'memory.max'), 'max\n');
  assert.equal(cgroupMemoryLimit(root), null);
  writeFileSync(join(root, 'memory.max'), '536870912\n');
  assert.equal(cgroupMemoryLimit(root), 536870912);
});

test('an unknown flag gets "did you mean" the command\'s nearest flag; a far one gets the plain error', () => {
  const r = hearth(['info', STORIES, '--jsn']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /unknown option --jsn: did you mean --json\?/);
  assert.match(hearth(['run', STORIES, '--promt', 'x']).stderr, /did you mean --prompt\?/);
  const far = hearth(['info', STORIES, '--zzzzzzzz']);
  assert.equal(far.code, 1);
  assert.doesNotMatch(far.stderr, /did you mean/);
  assert.match(far.stderr, /--zzzzzzzz/);
});

test('a directory given as MODEL is named as one, with the .gguf files in it', () => {
  const d = mkdtempSync(join(tmpdir(), 'hearth-dir-'));
  const empty = hearth(['info', d]);
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /is a directory.*no \.gguf files/);
  writeFileSync(join(d, 'b.gguf'), '');
  writeFileSync(join(d, 'a.gguf'), '');
  const r = hearth(['fit', d]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /is a directory, not a model file: pass one of the \.gguf files in it: a\.gguf, b\.gguf/);
});

test('quantize refuses IN == OUT and re-quantizing unless --allow-requantize', () => {
  const d = mkdtempSync(join(tmpdir(), 'hearth-q-'));
  const same = hearth(['quantize', STORIES, join(STORIES, '..', 'stories260K.gguf'), 'Q8_0']);
  assert.equal(same.code, 1);
  assert.match(same.stderr, /IN and OUT are the same file/);
  const q8 = join(d, 'q8.gguf');
  assert.equal(hearth(['quantize', STORIES, q8, 'Q8_0']).code, 0);
  const again = hearth(['quantize', q8, join(d, 'q4.gguf'), 'Q4_0']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already quantized \(Q8_0\).*--allow-requantize/);
  assert.equal(existsSync(join(d, 'q4.gguf')), false);
  const allowed = hearth(['quantize', q8, join(d, 'q4.gguf'), 'Q4_0', '--allow-requantize']);
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.equal(existsSync(join(d, 'q4.gguf')), true);
});

test('serve --help names the backend a model loads on when none is given', () => {
  const r = hearth(['serve', '--help']);
  assert.equal(r.code, 0);
  const line = r.stdout.split('\n').find((l) => l.includes('--backend'))!;
  // createBackend's default: opts.backend ?? 'cpu'
  assert.match(line, /cpu \(default/);
});

test('under an older Node the hearth command re-runs itself on the bundled Node 24', (t) => {
  const old = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p) &&
    Number(spawnSync(p, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.split('.')[0]) < 24);
  if (!old) return t.skip('no Node older than 24 on this machine');
  // Node < 24 cannot import the TypeScript sources at all: an answer means the bundled Node ran them.
  const r = spawnSync(old, [join(REPO_ROOT, 'bin', 'hearth.js'), '--version'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^hearth \d+\.\d+\.\d+/);
  assert.doesNotMatch(r.stderr, /too old/);
  const bad = spawnSync(old, [join(REPO_ROOT, 'bin', 'hearth.js'), 'no-such-command'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(bad.status, 1, 'the exit code comes back through the launcher');
  assert.match(bad.stderr, /unknown command "no-such-command"/);
});
