#!/usr/bin/env node
// Entry point of the `hearth` CLI. The sources are TypeScript run by Node >= 24's type stripping. Under an older
// Node (a system Node 20, `npx hearth`, a global install), the command re-runs itself on the Node 24 that npm
// installed with Hearth (the `node` package), so `hearth` works from anywhere.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  const bundled = [join(root, 'node_modules', 'node', 'bin', 'node'), join(root, '..', 'node', 'bin', 'node')].find((p) => existsSync(p));
  if (!bundled || process.env.HEARTH_REEXEC === '1') {
    process.stderr.write(`hearth: Node ${process.versions.node} is too old and the bundled Node 24 is missing; ` +
      'run `npm install` in the Hearth folder (it brings Node 24 as the `node` package) or install Node 24.\n');
    process.exit(1);
  }
  const child = spawn(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit', env: { ...process.env, HEARTH_REEXEC: '1' },
  });
  // Ctrl-C reaches the child from the terminal itself (one process group); a second SIGINT would cut its shutdown.
  process.on('SIGINT', () => {});
  for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
} else {
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
