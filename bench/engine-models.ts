// The 1B-class synthetic models of the engine benchmark (TinyLlama's shape), written by Hearth's own
// writer and quantizer and cached under bench/.cache/ by their options, since the K-quant mixes take
// minutes to quantize in TypeScript. Run directly to build them ahead of a benchmark:
//   node bench/engine-models.ts Q8_0,Q4_0,Q4_K_M
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../test/shared.ts';
import { syntheticModelKey, writeSyntheticModel, type SyntheticModelOptions } from '../test/fixtures/synthetic-model.ts';
import { quantizeModel } from '../src/quant/quantize-model.ts';

export const BENCH_CACHE_DIR = join(REPO_ROOT, 'bench', '.cache');

/** 2048 wide, 22 layers, 32 query / 4 KV heads, FFN 5632, the 32000-token Llama 2 vocabulary: ~1.1 B weights. */
export const ONE_B_SHAPE: SyntheticModelOptions = {
  arch: 'llama', nEmbd: 2048, nLayer: 22, nHead: 32, nHeadKv: 4, nFF: 5632,
};

/** Mixes go through quantizeModel from an F32 source, as llama-quantize makes them. */
const MIXES = new Set(['Q4_K_M', 'Q5_K_M']);

function cachePath(type: string): string {
  const opts = { ...ONE_B_SHAPE, weightType: type };
  return join(BENCH_CACHE_DIR, `llama-1b-${type.toLowerCase()}-${syntheticModelKey(opts)}.gguf`);
}

function log(msg: string): void {
  process.stderr.write(`[engine-models] ${msg}\n`);
}

/**
 * Path of the cached 1B-class model of `type` ('Q8_0', 'Q4_0', 'Q4_K_M', 'F32', …), written on first use.
 * Every writer holds one tensor at a time (the largest, the f32 embedding, is 262 MB), never the model.
 * The F32 source of a mix is removed after quantizing unless `keepSource` is set (it is 4.4 GB).
 */
export function benchModelPath(type: string, keepSource = false): string {
  const t = type.toUpperCase();
  const file = cachePath(t);
  if (existsSync(file)) return file;
  mkdirSync(BENCH_CACHE_DIR, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const t0 = performance.now();
  if (MIXES.has(t)) {
    const srcExisted = existsSync(cachePath('F32'));
    const src = benchModelPath('F32');
    log(`quantizing ${t} from ${src}`);
    quantizeModel(src, tmp, t);
    if (!keepSource && !srcExisted) rmSync(src);
  } else {
    log(`writing ${t}`);
    writeSyntheticModel(tmp, { ...ONE_B_SHAPE, weightType: t });
  }
  renameSync(tmp, file);
  log(`${file} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return file;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const t of (process.argv[2] ?? 'Q8_0,Q4_0,Q4_K_M').split(',')) console.log(benchModelPath(t));
}
