#!/usr/bin/env node
// Runs after `npm install` in the repository: builds what the project builds, and installs the llama.cpp
// reference (test/reference, a separate package used only by tests and benchmarks).
// Skipped when Hearth is installed as a dependency of another project (no test/ folder there).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) {
    process.stderr.write(`postinstall: ${cmd} ${args.join(' ')} failed (exit ${r.status})\n`);
    process.exit(r.status ?? 1);
  }
}

if (existsSync('scripts/build.js')) run(process.execPath, ['scripts/build.js']);
if (existsSync('test/reference/package.json') && process.env.HEARTH_SKIP_REFERENCE !== '1') {
  run('npm', ['--prefix', 'test/reference', 'install', '--omit=optional', '--no-audit', '--no-fund']);
}
