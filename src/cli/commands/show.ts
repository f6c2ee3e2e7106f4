// hearth show NAME [--json | --modelfile]: a library model's facts and preset.

import { parse } from '../args.ts';
import { Library } from '../../library/library.ts';
import { modelfileText, parametersText } from '../../library/preset.ts';
import { HearthError } from '../../util/errors.ts';
import type { Command } from '../main.ts';

export const command: Command = {
  summary: 'describe a library model',
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: 'boolean' }, modelfile: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
    if (values.help) { process.stdout.write('Usage: hearth show NAME [--json | --modelfile]\n'); return 0; }
    if (positionals.length !== 1) throw new HearthError('invalid_argument', 'expected one NAME: hearth show NAME [--json | --modelfile]');
    const lib = Library.open();
    try {
      const m = lib.require(positionals[0]!);
      if (values.json) { process.stdout.write(`${JSON.stringify(m, null, 2)}\n`); return 0; }
      if (values.modelfile) { process.stdout.write(modelfileText(m.preset?.from ?? m.path, m.preset)); return 0; }
      const line = (k: string, v: unknown) => { if (v !== undefined && v !== '') process.stdout.write(`  ${k.padEnd(18)}${String(v)}\n`); };
      process.stdout.write('  Model\n');
      line('name', m.name);
      line('architecture', m.arch);
      line('parameters', m.paramCount);
      line('quantization', m.quantization);
      line('context length', m.contextLength);
      line('source', m.source);
      line('path', m.path);
      line('sha256', m.sha256);
      if (m.preset) {
        process.stdout.write('\n  Preset\n');
        line('from', m.preset.from);
        line('system', m.preset.system);
        const params = parametersText(m.preset.parameters);
        if (params) process.stdout.write(params.split('\n').map((l) => `  ${''.padEnd(18)}${l}\n`).join('').replace(/^ {20}/, `  ${'parameters'.padEnd(18)}`));
      }
      return 0;
    } finally {
      lib.close();
    }
  },
};
