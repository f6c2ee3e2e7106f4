#!/usr/bin/env node
// The project's test command: type-check, then every unit, conformance and integration test with node:test.
// Usage: npm test [-- <file or glob> ...]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const shared = process.env.HEARTH_SHARED ?? '../shared';
if (!existsSync(shared)) {
  process.stderr.write(`note: shared data folder ${shared} not found (set HEARTH_SHARED); tests that need it will fail and say so.\n`);
}

const extra = process.argv.slice(2);
run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']);
// the web UI is browser code with its own settings (DOM types, Preact's JSX)
run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'ui/tsconfig.json']);
const patterns = extra.length ? extra : ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'];
// Test files run two at a time by default (node's own default is one fewer than the cores: one file at a time
// on a 2-core machine). Most files spend much of their time waiting on child processes, servers and disk, so a
// second file fills that time; files that share a cache write it under a temporary name and rename it.
const concurrency = process.env.HEARTH_TEST_CONCURRENCY ?? String(Math.max(2, availableParallelism()));
run(process.execPath, [
  '--test',
  `--test-concurrency=${concurrency}`,
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=./scripts/slowest-reporter.js', '--test-reporter-destination=stdout',
  ...patterns,
]);
