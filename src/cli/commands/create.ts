// hearth create NAME --from MODEL [--system TEXT] [--param k=v …] [--file Modelfile]: a preset sharing the file of
// MODEL (a Modelfile's FROM, SYSTEM and PARAMETER lines; flags override the file).

import { readFileSync } from 'node:fs';
import { parse } from '../args.ts';
import { Library } from '../../library/library.ts';
import { addParameter, parseModelfile } from '../../library/preset.ts';
import { HearthError } from '../../util/errors.ts';
import type { Command } from '../main.ts';

const HELP = 'Usage: hearth create NAME --from MODEL [--system TEXT] [--param k=v …] [--file Modelfile]\n';

export const command: Command = {
  summary: 'create a preset of a library model',
  async run(argv) {
    const { values, positionals } = parse(argv, {
      from: { type: 'string' }, system: { type: 'string' }, param: { type: 'string', multiple: true }, file: { type: 'string', short: 'f' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) { process.stdout.write(HELP); return 0; }
    if (positionals.length !== 1) throw new HearthError('invalid_argument', `expected one NAME\n\n${HELP}`);
    let text: string | undefined;
    if (values.file !== undefined) {
      try { text = readFileSync(values.file, 'utf8'); } catch (e) { throw new HearthError('not_found', `cannot read ${values.file}: ${(e as Error).message}`); }
    }
    const mf = text === undefined ? { parameters: {} as Record<string, unknown> } : parseModelfile(text);
    const parameters = { ...mf.parameters };
    for (const p of values.param ?? []) {
      const eq = p.indexOf('=');
      if (eq <= 0) throw new HearthError('invalid_argument', `--param ${p}: write it as name=value`);
      addParameter(parameters, p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1));
    }
    const from = values.from ?? mf.from;
    if (!from) throw new HearthError('invalid_argument', `no model to start from: pass --from MODEL (or FROM in the Modelfile)\n\n${HELP}`);
    const lib = Library.open();
    try {
      const m = lib.create(positionals[0]!, { from, system: values.system ?? mf.system, parameters });
      process.stdout.write(`created '${m.name}' from '${m.preset?.from}'\n`);
      return 0;
    } finally {
      lib.close();
    }
  },
};
