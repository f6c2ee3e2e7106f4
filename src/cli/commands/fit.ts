// hearth fit MODEL [--ctx N] [--json]: the memory a model would take, from its file's header only.

import { parse, int, modelPath } from '../args.ts';
import { estimateModelBytes } from '../../engine/fit.ts';
import { HearthError } from '../../util/errors.ts';
import type { Command } from '../main.ts';

const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

export const command: Command = {
  summary: 'estimate the memory a model needs',
  async run(argv) {
    const { values, positionals } = parse(argv, {
      ctx: { type: 'string' }, threads: { type: 'string' }, batch: { type: 'string' }, backend: { type: 'string' },
      json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      process.stdout.write('Usage: hearth fit MODEL [--ctx N] [--threads T] [--batch N] [--backend cpu|ref|webgpu] [--json]\n');
      return 0;
    }
    if (positionals.length > 1) throw new HearthError('invalid_argument', `unexpected arguments: ${positionals.slice(1).join(' ')}`);
    const backend = values.backend as 'cpu' | 'ref' | 'webgpu' | undefined;
    const est = estimateModelBytes(modelPath(positionals[0]), {
      backend, nCtx: int(values.ctx, '--ctx', 1), threads: int(values.threads, '--threads', 1), nBatch: int(values.batch, '--batch', 1),
    });
    if (values.json) {
      process.stdout.write(JSON.stringify(est) + '\n');
      return 0;
    }
    process.stdout.write([
      `context   ${est.nCtx}`, `weights   ${mb(est.weights)}`, `kv cache  ${mb(est.kv)}`,
      `scratch   ${mb(est.scratch)}`, `threads   ${mb(est.threads)}`,
      // the parsed vocabulary and metadata (on the serving and the engine thread) and the engine thread itself
      `metadata  ${mb(est.metadata)}`, `total     ${mb(est.total)}`,
    ].join('\n') + '\n');
    return 0;
  },
};
