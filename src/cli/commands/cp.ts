// hearth cp SRC DST: another name for a library model (the file is shared, not copied).

import { parse } from '../args.ts';
import { Library } from '../../library/library.ts';
import { HearthError } from '../../util/errors.ts';
import type { Command } from '../main.ts';

export const command: Command = {
  summary: 'copy a library model to a new name',
  async run(argv) {
    const { values, positionals } = parse(argv, { help: { type: 'boolean', short: 'h' } });
    if (values.help) { process.stdout.write('Usage: hearth cp SRC DST\n'); return 0; }
    if (positionals.length !== 2) throw new HearthError('invalid_argument', 'expected SRC and DST: hearth cp SRC DST');
    const lib = Library.open();
    try {
      const m = lib.copy(positionals[0]!, positionals[1]!);
      process.stdout.write(`copied '${positionals[0]}' to '${m.name}'\n`);
      return 0;
    } finally {
      lib.close();
    }
  },
};
