// hearth ps [--json] and hearth stop NAME: the models a running server has loaded (its /api/ps), and unloading one
// (what `ollama stop` sends: /api/generate with no prompt and keep_alive 0). The server is HEARTH_HOST (default
// http://127.0.0.1:8434) or --host; HEARTH_API_KEY is sent as the bearer key where the server requires keys.

import { parse } from '../args.ts';
import { call, serverUrl } from '../server-client.ts';
import { HearthError } from '../../util/errors.ts';
import type { Command } from '../main.ts';

interface PsModel {
  name: string; size: number; expires_at: string; context_length: number; state?: string; requests?: number;
  details?: { parameter_size?: string; quantization_level?: string };
}

function size(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** "4 minutes from now", "Forever", "Loading", as Ollama's UNTIL column. */
export function until(m: PsModel, now = Date.now()): string {
  if (m.state === 'loading') return 'Loading';
  if (m.requests) return 'In use';
  const t = Date.parse(m.expires_at);
  if (!Number.isFinite(t) || t - now > 100 * 365 * 86400e3) return 'Forever';
  const s = Math.max(0, (t - now) / 1000);
  const [n, unit] = s < 60 ? [s, 'second'] : s < 3600 ? [s / 60, 'minute'] : [s / 3600, 'hour'];
  const k = Math.max(1, Math.round(n));
  return `${k} ${unit}${k === 1 ? '' : 's'} from now`;
}

export const ps: Command = {
  summary: 'list the models a running server has loaded',
  async run(argv) {
    const { values } = parse(argv, { json: { type: 'boolean' }, host: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
    if (values.help) { process.stdout.write('Usage: hearth ps [--json] [--host URL]\n\nThe server is --host, HEARTH_HOST or http://127.0.0.1:8434.\n'); return 0; }
    const { models } = await call(serverUrl(values.host), '/api/ps') as { models: PsModel[] };
    if (values.json) { process.stdout.write(`${JSON.stringify(models, null, 2)}\n`); return 0; }
    const rows = [['NAME', 'SIZE', 'CONTEXT', 'UNTIL'], ...models.map((m) => [m.name, size(m.size), String(m.context_length || ''), until(m)])];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) process.stdout.write(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 4))).join('')}\n`);
    return 0;
  },
};

export const stop: Command = {
  summary: 'unload a model from a running server',
  async run(argv) {
    const { values, positionals } = parse(argv, { host: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
    if (values.help) { process.stdout.write('Usage: hearth stop NAME [--host URL]\n\nUnloads NAME from the server (--host, HEARTH_HOST or http://127.0.0.1:8434).\n'); return 0; }
    if (positionals.length !== 1) throw new HearthError('invalid_argument', 'expected one NAME: the model to unload (hearth ps lists them)');
    const base = serverUrl(values.host);
    const name = positionals[0]!;
    const { models } = await call(base, '/api/ps') as { models: PsModel[] };
    const bare = (n: string) => n.toLowerCase().replace(/:latest$/, '');
    if (!models.some((m) => bare(m.name) === bare(name))) {
      throw new HearthError('not_found', `model "${name}" is not loaded on ${base}${models.length ? `; loaded: ${models.map((m) => m.name).join(', ')}` : ' (nothing is loaded)'}`);
    }
    await call(base, '/api/generate', { method: 'POST', body: JSON.stringify({ model: name, keep_alive: 0, stream: false }) });
    return 0;
  },
};
