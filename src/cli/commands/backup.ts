// hearth backup FILE: a consistent copy of the hearth database (keys, usage audit, conversations, files, vector
// stores, the model catalog), safe to take while hearth serve runs (store/backup.ts).

import { parse } from '../args.ts';
import { HearthError } from '../../util/errors.ts';
import { backupDatabase } from '../../store/backup.ts';
import { databasePath } from '../../store/database.ts';
import { formatBytes } from '../../provider/model-manager.ts';
import type { Command } from '../main.ts';

const HELP = `Usage: hearth backup FILE [--json]

Copies the hearth database into FILE with SQLite's online backup: a consistent snapshot even while hearth serve
writes to it, checked with PRAGMA integrity_check before it is named FILE. FILE must not exist. Restore by
stopping the server and putting the copy in place of the database (or pointing HEARTH_DB at it).
The database is HEARTH_DB, else hearth.db in HEARTH_HOME (default ~/.hearth).
`;

export const command: Command = {
  summary: 'copy the database, safely while the server runs',
  async run(argv) {
    const { values: v, positionals } = parse(argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
    if (v.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new HearthError('invalid_argument', 'name the one FILE to write the backup to (hearth backup FILE)');
    const r = await backupDatabase(databasePath(), positionals[0]!);
    if (v.json) process.stdout.write(`${JSON.stringify({ path: r.path, bytes: r.bytes, pages: r.pages, ms: Math.round(r.ms) })}\n`);
    else process.stdout.write(`backed up ${databasePath()} to ${r.path}: ${formatBytes(r.bytes)}, ${r.pages} pages, ${Math.round(r.ms)} ms; integrity ok\n`);
    return 0;
  },
};
