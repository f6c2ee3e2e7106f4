// hearth rm NAME…: removes library names; a file goes with the last name that shares it.

import { parse } from '../args.ts';
import { Library } from '../../library/library.ts';
import { HearthError } from '../../util/errors.ts';
import type { Command } from '../main.ts';

export const command: Command = {
  summary: 'remove models from the library',
  async run(argv) {
    const { values, positionals } = parse(argv, { help: { type: 'boolean', short: 'h' } });
    if (values.help) { process.stdout.write('Usage: hearth rm NAME…\n'); return 0; }
    if (positionals.length === 0) throw new HearthError('invalid_argument', 'expected at least one NAME: hearth rm NAME…');
    const lib = Library.open();
    try {
      for (const name of positionals) {
        const { model } = lib.remove(name);
        process.stdout.write(`deleted '${model.name}'\n`);
      }
      return 0;
    } finally {
      lib.close();
    }
  },
};
