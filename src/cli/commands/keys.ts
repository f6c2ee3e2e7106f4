// hearth keys create|list|revoke: API keys for `hearth serve`, in the hearth database (HEARTH_DB, else
// HEARTH_HOME/hearth.db). A key's secret is printed once, at creation; the database keeps only its hash.

import { parse, int } from '../args.ts';
import { HearthError } from '../../util/errors.ts';
import { openStore } from '../../store/store.ts';
import { SCOPES, DEFAULT_SCOPES, keyStatus, type ApiKey } from '../../store/keys.ts';
import { parseDuration } from '../../store/duration.ts';
import { keyJson } from '../../server/middleware/admin-keys.ts';
import type { Command } from '../main.ts';

const HELP = `Usage: hearth keys <create|list|revoke> [options]

  hearth keys create --name NAME [--scopes S,…] [--models M,…] [--rpm N] [--tpm N] [--concurrency N] [--expires 30d] [--json]
      prints the new key's secret on stdout, once: store it now
      --scopes   ${SCOPES.join(', ')}, mcp:LABEL or mcp:* (MCP servers of the config file) (default ${DEFAULT_SCOPES.join(',')})
      --models   the only model names the key may use (default: any)
      --rpm      requests per minute; --tpm prompt + completion tokens per minute; --concurrency requests at once
      --expires  lifetime: 90s, 15m, 24h, 30d, 2w (default: never)
  hearth keys list [--json]       every key with its status; never a secret
  hearth keys revoke ID           the key stops working at once

The database is HEARTH_DB, else hearth.db in HEARTH_HOME (default ~/.hearth).
`;

const list = (v: string | undefined) => v?.split(',').map((s) => s.trim()).filter(Boolean);

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n';
}

function limits(k: ApiKey): string {
  const parts = [k.rpm && `${k.rpm} rpm`, k.tpm && `${k.tpm} tpm`, k.concurrency && `${k.concurrency} at once`].filter(Boolean);
  return parts.length ? parts.join(', ') : '-';
}

const day = (t: number | undefined) => (t === undefined ? '-' : new Date(t).toISOString().slice(0, 16).replace('T', ' '));

export const command: Command = {
  summary: 'create, list and revoke API keys for hearth serve',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (!sub || sub === '--help' || sub === '-h') {
      process.stdout.write(HELP);
      return sub ? 0 : 1;
    }
    const { values: v, positionals } = parse(rest, {
      name: { type: 'string' }, scopes: { type: 'string' }, models: { type: 'string' }, rpm: { type: 'string' },
      tpm: { type: 'string' }, concurrency: { type: 'string' }, expires: { type: 'string' }, json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (v.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const store = openStore();
    try {
      const now = Date.now();
      switch (sub) {
        case 'create': {
          if (positionals.length) throw new HearthError('invalid_argument', `unexpected arguments: ${positionals.join(' ')}`);
          if (v.name === undefined) throw new HearthError('invalid_argument', 'keys create needs --name NAME');
          const { key, secret } = store.keys.create({
            name: v.name, scopes: list(v.scopes), models: list(v.models),
            rpm: int(v.rpm, '--rpm', 1), tpm: int(v.tpm, '--tpm', 1), concurrency: int(v.concurrency, '--concurrency', 1),
            expiresAt: v.expires === undefined ? undefined : now + parseDuration(v.expires, '--expires'),
          });
          if (v.json) {
            process.stdout.write(`${JSON.stringify({ ...keyJson(key, now), key: secret }, null, 2)}\n`);
          } else {
            process.stderr.write(`Created ${key.id} "${key.name}": scopes ${key.scopes.join(', ')}; models ${key.models?.join(', ') ?? 'any'}; ` +
              `limits ${limits(key)}; expires ${day(key.expiresAt)}.\nThe key (shown only now; store it safely):\n`);
            process.stdout.write(`${secret}\n`);
          }
          return 0;
        }
        case 'list': {
          const used = store.usage.lastUsed();
          const keys = store.keys.list();
          if (v.json) {
            process.stdout.write(`${JSON.stringify(keys.map((k) => keyJson(k, now, used.get(k.id))), null, 2)}\n`);
            return 0;
          }
          if (keys.length === 0) {
            process.stdout.write('No keys. Create one with: hearth keys create --name NAME\n');
            return 0;
          }
          process.stdout.write(table([
            ['ID', 'NAME', 'PREFIX', 'STATUS', 'SCOPES', 'MODELS', 'LIMITS', 'CREATED', 'EXPIRES', 'LAST USED'],
            ...keys.map((k) => [k.id, k.name, `${k.prefix}…`, keyStatus(k, now), k.scopes.join(','), k.models?.join(',') ?? 'any',
              limits(k), day(k.createdAt), day(k.expiresAt), day(used.get(k.id))]),
          ]));
          return 0;
        }
        case 'revoke': {
          if (positionals.length !== 1) throw new HearthError('invalid_argument', 'keys revoke takes one key id (see hearth keys list)');
          const key = store.keys.revoke(positionals[0]);
          process.stdout.write(`Revoked ${key.id} "${key.name}" (${key.prefix}…) at ${new Date(key.revokedAt!).toISOString()}\n`);
          return 0;
        }
        default:
          throw new HearthError('invalid_argument', `unknown keys command "${sub}": use create, list or revoke`);
      }
    } finally {
      store.close();
    }
  },
};
