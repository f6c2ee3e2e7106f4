// One fuzz worker: runs cases [start, start + count) of a seed in this process and reports each on stdout as a JSON
// line: {"i":…,"start":true} before it, then {"i":…,"result":"ok"|"typed"|"untyped","code"?,"message"?}. A case that
// hangs, crashes the process or runs out of memory is caught by the parent (run.ts) from the last line it saw.
//   node test/fuzz/gguf-case.ts SEED START COUNT CORPUS_DIR TMP_DIR
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseGGUF } from '../../src/gguf/index.ts';
import { checkOneToken, loadModel } from '../../src/engine/load.ts';
import { HearthError } from '../../src/util/errors.ts';
import { hashString, SeededRandom } from '../fixtures/seeded-random.ts';
import { mutate } from './gguf-mutate.ts';

export function caseRandom(seed: number, i: number): SeededRandom {
  return new SeededRandom(hashString(`${seed}:${i}`));
}

export function loadCorpus(dir: string): Uint8Array[] {
  return readdirSync(dir).filter((f) => f.endsWith('.gguf')).sort().map((f) => new Uint8Array(readFileSync(join(dir, f))));
}

/** The mutant of case i. */
export function caseBytes(corpus: Uint8Array[], seed: number, i: number): Uint8Array {
  const r = caseRandom(seed, i);
  return mutate(corpus[r.int(corpus.length)], r);
}

/** Reads the mutant; when it reads, loads it (ref backend, a context of 8) and runs one token. */
export function runCase(bytes: Uint8Array, tmpFile: string): 'ok' | HearthError {
  try {
    const f = parseGGUF(bytes, 'mutant.gguf');
    for (const t of f.tensors) if (t.byteSize <= 1 << 20) f.readTensor(t);
    if (f.tensors.length === 0) return 'ok';
    writeFileSync(tmpFile, bytes);
    const model = loadModel(tmpFile, { backend: 'ref', nCtx: 8 });
    try {
      checkOneToken(model);
    } finally {
      model.dispose();
    }
    return 'ok';
  } catch (e) {
    if (e instanceof HearthError) return e;
    throw e;
  }
}

if (process.argv[1]?.endsWith('gguf-case.ts')) {
  const [seed, start, count] = process.argv.slice(2, 5).map(Number);
  const corpus = loadCorpus(process.argv[5]!);
  const tmpFile = join(process.argv[6]!, `case-${process.pid}.gguf`);
  const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
  for (let i = start; i < start + count; i++) {
    out({ i, start: true });
    try {
      const r = runCase(caseBytes(corpus, seed, i), tmpFile);
      out(r === 'ok' ? { i, result: 'ok' } : { i, result: 'typed', code: r.code });
    } catch (e) {
      const err = e as Error;
      out({ i, result: 'untyped', message: `${err?.name}: ${err?.message}`.slice(0, 500), stack: String(err?.stack).split('\n').slice(1, 4).join(' | ') });
    }
  }
  rmSync(tmpFile, { force: true });
}
