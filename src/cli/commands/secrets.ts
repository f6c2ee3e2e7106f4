// hearth secrets set|list|rm: provider secrets for the gateway's config (api_key: secret:NAME), in the hearth
// database, encrypted with the key in HEARTH_SECRET_KEY (default ~/.hearth/secret.key), which never enters the
// database. `set` reads the value from standard input (so that it is in no shell history or process list).

import { readFileSync } from 'node:fs';
import { HearthError } from '../../util/errors.ts';
import { Database, databasePath } from '../../store/database.ts';
import { SecretStore, secretKeyPath } from '../../store/secrets.ts';
import type { Command } from '../main.ts';

const HELP = `Usage: hearth secrets <set|list|rm> [NAME]

  hearth secrets set NAME     stores the secret read from standard input (one line; piped, or typed and ended with Enter)
  hearth secrets list         the names stored, never a value
  hearth secrets rm NAME      removes it

A config file names a stored secret as api_key: secret:NAME. Secrets are encrypted (AES-256-GCM) with the key in
HEARTH_SECRET_KEY, else secret.key in HEARTH_HOME (default ~/.hearth), created on first use with mode 0600; the
database (HEARTH_DB, else hearth.db in HEARTH_HOME) holds only ciphertext.
`;

function readValue(): string {
  const text = readFileSync(0, 'utf8');
  return text.replace(/\r?\n$/, '');
}

export const command: Command = {
  summary: 'store, list and remove provider secrets for the gateway (encrypted at rest)',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (!sub || sub === '--help' || sub === '-h') {
      process.stdout.write(HELP);
      return sub ? 0 : 1;
    }
    const database = Database.open(databasePath());
    try {
      const store = new SecretStore(database, secretKeyPath());
      switch (sub) {
        case 'set': {
          if (rest.length !== 1) throw new HearthError('invalid_argument', 'secrets set takes one NAME; the value comes from standard input');
          const value = readValue();
          if (/\n/.test(value)) throw new HearthError('invalid_argument', 'the secret must be one line');
          store.set(rest[0]!, value);
          process.stderr.write(`Stored secret "${rest[0]}" (use it as api_key: secret:${rest[0]})\n`);
          return 0;
        }
        case 'list': {
          const all = store.list();
          if (!all.length) process.stdout.write('No secrets. Store one with: hearth secrets set NAME\n');
          for (const s of all) process.stdout.write(`${s.name}\t${new Date(s.updatedAt).toISOString().slice(0, 16).replace('T', ' ')}\n`);
          return 0;
        }
        case 'rm': {
          if (rest.length !== 1) throw new HearthError('invalid_argument', 'secrets rm takes one NAME');
          if (!store.remove(rest[0]!)) throw new HearthError('not_found', `there is no secret "${rest[0]}" (hearth secrets list)`);
          process.stdout.write(`Removed secret "${rest[0]}"\n`);
          return 0;
        }
        default:
          throw new HearthError('invalid_argument', `unknown subcommand "${sub}"; use set, list or rm`);
      }
    } finally {
      database.close();
    }
  },
};
