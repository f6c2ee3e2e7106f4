// hearth usage: the usage audit of hearth serve summarised per key (or route, or model): requests, errors,
// rate-limited requests, tokens, mean duration.

import { parse } from '../args.ts';
import { HearthError } from '../../util/errors.ts';
import { databaseUrl, openRepositories } from '../../store/repositories.ts';
import { parseSince } from '../../store/duration.ts';
import type { UsageGroup } from '../../store/usage.ts';
import type { Command } from '../main.ts';

const HELP = `Usage: hearth usage [--key ID] [--since 24h|2025-01-31] [--by key|route|model] [--json] [--database URL]

Summarises the requests hearth serve recorded: per key (default), route or model, since a time (default: all).
The database is --database URL (PostgreSQL, as hearth serve --database), else HEARTH_DATABASE_URL, else the SQLite
file HEARTH_DB, else hearth.db in HEARTH_HOME (default ~/.hearth).
`;

const GROUPS: readonly UsageGroup[] = ['key', 'route', 'model'];

export const command: Command = {
  summary: 'summarise the usage audit of hearth serve',
  async run(argv) {
    const { values: v, positionals } = parse(argv, {
      key: { type: 'string' }, since: { type: 'string' }, by: { type: 'string' }, json: { type: 'boolean' }, database: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    });
    if (v.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length) throw new HearthError('invalid_argument', `unexpected arguments: ${positionals.join(' ')}`);
    const by = (v.by ?? 'key') as UsageGroup;
    if (!GROUPS.includes(by)) throw new HearthError('invalid_argument', `--by must be one of ${GROUPS.join(', ')}`);
    const now = Date.now();
    const since = v.since === undefined ? undefined : parseSince(v.since, now);
    const store = await openRepositories(databaseUrl(v.database), { listen: false });
    try {
      const rows = await store.usage.summary({ keyId: v.key, since, by });
      const names = new Map((await store.keys.list()).map((k) => [k.id, k.name]));
      if (v.json) {
        process.stdout.write(`${JSON.stringify({
          by, since: since === undefined ? null : new Date(since).toISOString(), key: v.key ?? null,
          rows: rows.map((r) => ({
            [by]: r.group, ...(by === 'key' ? { name: r.group === null ? null : names.get(r.group) ?? null } : {}),
            requests: r.requests, errors: r.errors, rate_limited: r.rateLimited, prompt_tokens: r.promptTokens,
            completion_tokens: r.completionTokens, mean_ms: Math.round(r.meanMs * 10) / 10,
            first_at: new Date(r.firstAt).toISOString(), last_at: new Date(r.lastAt).toISOString(),
          })),
        }, null, 2)}\n`);
        return 0;
      }
      const range = since === undefined ? 'all time' : `since ${new Date(since).toISOString()}`;
      if (rows.length === 0) {
        process.stdout.write(`No requests recorded (${range}${v.key ? `, key ${v.key}` : ''}).\n`);
        return 0;
      }
      const label = (g: string | null) => by === 'key' ? (g === null ? '(no key)' : `${g} ${names.get(g) ?? ''}`.trim()) : g ?? '-';
      const table = [
        [by.toUpperCase(), 'REQUESTS', 'ERRORS', '429', 'PROMPT TOK', 'COMPL TOK', 'MEAN MS', 'LAST'],
        ...rows.map((r) => [label(r.group), String(r.requests), String(r.errors), String(r.rateLimited), String(r.promptTokens),
          String(r.completionTokens), r.meanMs.toFixed(1), new Date(r.lastAt).toISOString().slice(0, 19).replace('T', ' ')]),
      ];
      const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
      process.stdout.write(`Usage, ${range}:\n`);
      for (const row of table) process.stdout.write(`${row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')}\n`);
      return 0;
    } finally {
      await store.close();
    }
  },
};
