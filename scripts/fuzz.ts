#!/usr/bin/env node
// The GGUF fuzzer: structure-aware mutants of the seed corpus through the reader, the loader and one forward step.
// Usage: npm run fuzz -- [--seconds N] [--cases N] [--seed S] [--first I] [--jobs J]
//        npm run fuzz -- --write-seeds                 (re-make test/fuzz/corpus/ from test/fuzz/seeds.ts)
//        npm run fuzz -- --seed S --case I --out F     (write case I's mutant to F, to reproduce a failure)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CORPUS_DIR, runFuzz } from '../test/fuzz/run.ts';
import { seedCorpus } from '../test/fuzz/seeds.ts';
import { caseBytes, loadCorpus } from '../test/fuzz/gguf-case.ts';

const { values: v } = parseArgs({
  options: {
    seconds: { type: 'string' }, cases: { type: 'string' }, seed: { type: 'string' }, first: { type: 'string' },
    jobs: { type: 'string' }, 'write-seeds': { type: 'boolean' }, case: { type: 'string' }, out: { type: 'string' },
  },
});
const seed = Number(v.seed ?? Date.now() % 1_000_000);

if (v['write-seeds']) {
  mkdirSync(CORPUS_DIR, { recursive: true });
  for (const s of seedCorpus()) {
    writeFileSync(join(CORPUS_DIR, s.name), s.bytes);
    process.stdout.write(`${s.name}: ${s.bytes.length} bytes\n`);
  }
} else if (v.case !== undefined) {
  const bytes = caseBytes(loadCorpus(CORPUS_DIR), seed, Number(v.case));
  writeFileSync(v.out ?? `fuzz-${seed}-${v.case}.gguf`, bytes);
  process.stdout.write(`case ${v.case} of seed ${seed}: ${bytes.length} bytes written\n`);
} else {
  const seconds = v.seconds === undefined ? (v.cases === undefined ? 60 : undefined) : Number(v.seconds);
  const r = await runFuzz({
    seed, seconds, cases: v.cases === undefined ? undefined : Number(v.cases), first: v.first === undefined ? undefined : Number(v.first),
    jobs: Number(v.jobs ?? 2),
  });
  const typed = Object.entries(r.typed).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  process.stdout.write(`seed ${seed}: ${r.cases} cases in ${r.seconds.toFixed(0)} s (${(r.cases / r.seconds).toFixed(0)}/s): ` +
    `${r.accepted} accepted, typed errors: ${typed}; ${r.failures.length} failures\n`);
  for (const f of r.failures.slice(0, 50)) process.stdout.write(`  case ${f.i}: ${f.kind}: ${f.message}\n`);
  process.exitCode = r.failures.length ? 1 : 0;
}
