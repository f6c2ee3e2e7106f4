// hearth list | hearth ls [--json]: the models library (HEARTH_MODELS and the catalog), as Ollama's table.

import { parse } from '../args.ts';
import { Library } from '../../library/library.ts';
import type { Command } from '../main.ts';

function size(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

function ago(d: Date, now = Date.now()): string {
  const s = Math.max(0, (now - d.getTime()) / 1000);
  const [n, unit] = s < 60 ? [s, 'second'] : s < 3600 ? [s / 60, 'minute'] : s < 86400 ? [s / 3600, 'hour'] : s < 86400 * 30 ? [s / 86400, 'day'] : [s / 86400 / 30, 'month'];
  const k = Math.floor(n);
  return k <= 1 && unit === 'second' ? 'Just now' : `${k} ${unit}${k === 1 ? '' : 's'} ago`;
}

export const command: Command = {
  summary: 'list the models in the library',
  async run(argv) {
    const { values } = parse(argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
    if (values.help) { process.stdout.write('Usage: hearth list [--json]\n'); return 0; }
    const lib = Library.open();
    try {
      const models = lib.list();
      if (values.json) { process.stdout.write(`${JSON.stringify(models, null, 2)}\n`); return 0; }
      const rows = [['NAME', 'ID', 'SIZE', 'MODIFIED'], ...models.map((m) => [m.name, (m.sha256 ?? '').slice(0, 12), size(m.size), ago(m.modifiedAt)])];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows) process.stdout.write(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 4))).join('')}\n`);
      return 0;
    } finally {
      lib.close();
    }
  },
};
