#!/usr/bin/env node
// The project's test command: type-check, then every unit, conformance and integration test with node:test.
// Usage: npm test [-- <file or glob> ...]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

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
run(process.execPath, [
  '--test',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=./scripts/slowest-reporter.js', '--test-reporter-destination=stdout',
  ...patterns,
]);
