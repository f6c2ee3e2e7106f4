// hearth quantize IN.gguf OUT.gguf TYPE

import { parse } from '../args.ts';
import { HearthError } from '../../util/errors.ts';
import { quantizeModel, QUANTIZE_TARGETS } from '../../quant/quantize-model.ts';
import type { Command } from '../main.ts';

export const command: Command = {
  summary: 'quantize a GGUF model',
  async run(argv) {
    const { values, positionals } = parse(argv, { help: { type: 'boolean', short: 'h' } });
    if (values.help || positionals.length !== 3) {
      const msg = `Usage: hearth quantize IN.gguf OUT.gguf TYPE\n  TYPE: ${QUANTIZE_TARGETS.join(', ')}\n`;
      if (values.help) {
        process.stdout.write(msg);
        return 0;
      }
      throw new HearthError('invalid_argument', `expected IN.gguf OUT.gguf TYPE\n${msg}`);
    }
    const [inPath, outPath, type] = positionals;
    const t0 = performance.now();
    const r = quantizeModel(inPath, outPath, type);
    const counts = new Map<string, number>();
    for (const t of r.tensors) counts.set(t.to, (counts.get(t.to) ?? 0) + 1);
    process.stderr.write(`hearth: ${r.tensors.length} tensors (${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}); ` +
      `${(r.bytesIn / 1e6).toFixed(2)} MB -> ${(r.bytesOut / 1e6).toFixed(2)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    process.stdout.write(`${outPath}\n`);
    return 0;
  },
};
