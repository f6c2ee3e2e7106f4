// hearth bench MODEL [-p 512] [-n 128] [--threads T] [--backend B] [--json], after llama-bench:
// load time, prefill tokens/s for a p-token prompt, decode tokens/s over n tokens, peak RSS.

import { parse, int, modelPath } from '../args.ts';
import { HearthError } from '../../util/errors.ts';
import { loadModel } from '../../engine/load.ts';
import { Context } from '../../engine/context.ts';
import type { BackendName } from '../../engine/types.ts';
import type { Command } from '../main.ts';

export interface BenchResult {
  model: string;
  backend: string;
  threads: number | undefined;
  n_prompt: number;
  n_gen: number;
  load_s: number;
  prefill_tps: number;
  decode_tps: number;
  peak_rss_mb: number;
}

function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

export const command: Command = {
  summary: 'measure load, prefill and decode speed',
  async run(argv) {
    const { values: v, positionals } = parse(argv, {
      'n-prompt': { type: 'string', short: 'p' }, 'n-gen': { type: 'string', short: 'n' },
      threads: { type: 'string', short: 't' }, backend: { type: 'string' }, json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (v.help) {
      process.stdout.write('Usage: hearth bench MODEL [-p 512] [-n 128] [--threads T] [--backend B] [--json]\n');
      return 0;
    }
    if (positionals.length > 1) throw new HearthError('invalid_argument', `unexpected arguments: ${positionals.slice(1).join(' ')}`);
    const nPrompt = int(v['n-prompt'], '-p', 1) ?? 512;
    const nGen = int(v['n-gen'], '-n', 1) ?? 128;
    const path = modelPath(positionals[0]);
    const t0 = performance.now();
    const model = loadModel(path, {
      nCtx: nPrompt + nGen + 1,
      nBatch: nPrompt,
      backend: v.backend as BackendName | undefined,
      threads: int(v.threads, '--threads', 1),
    });
    const loadS = (performance.now() - t0) / 1000;
    try {
      // A deterministic prompt of ordinary tokens (skipping the first ids, which are usually special).
      const prompt = Array.from({ length: nPrompt }, (_, i) => 3 + ((i * 7919) % (model.hp.nVocab - 3)));
      const ctx = new Context(model);
      const t1 = performance.now();
      let logits = ctx.eval(prompt);
      const prefillS = (performance.now() - t1) / 1000;
      const t2 = performance.now();
      for (let i = 0; i < nGen; i++) logits = ctx.eval([argmax(logits)]);
      const decodeS = (performance.now() - t2) / 1000;
      const r: BenchResult = {
        model: model.name,
        backend: model.backend.name,
        threads: model.options.threads,
        n_prompt: nPrompt,
        n_gen: nGen,
        load_s: +loadS.toFixed(3),
        prefill_tps: +(nPrompt / prefillS).toFixed(2),
        decode_tps: +(nGen / decodeS).toFixed(2),
        peak_rss_mb: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
      };
      if (v.json) {
        process.stdout.write(JSON.stringify(r) + '\n');
      } else {
        process.stdout.write(
          `| model | backend | threads | load s | pp${nPrompt} t/s | tg${nGen} t/s | peak RSS MB |\n|---|---|---|---|---|---|---|\n` +
          `| ${r.model} | ${r.backend} | ${r.threads ?? 'default'} | ${r.load_s} | ${r.prefill_tps} | ${r.decode_tps} | ${r.peak_rss_mb} |\n`);
      }
      return 0;
    } finally {
      model.dispose();
    }
  },
};
