#!/usr/bin/env node
// Entry point of the `hearth` CLI. Requires Node >= 24 (type stripping runs the TypeScript sources directly).
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(`hearth: Node ${process.versions.node} is too old; Hearth needs Node >= 24. ` +
    'Run it through `npx hearth` from the project (which uses the bundled Node) or install Node 24.\n');
  process.exit(1);
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
