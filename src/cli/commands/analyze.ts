// hearth analyze IMAGE... [--prompt P] [--model M] [--json]: images analysed by a running hearth server's analysis
// service (POST /api/v1/analyze for one image, POST /api/v1/batch for several, with a progress bar on stderr while
// the batch runs). A client, as hearth ps is: the batch is the server's (its scheduler, its store, resumed if the
// server restarts), and the model is the one the server already holds, local or behind its gateway.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parse, int, num } from '../args.ts';
import { HearthError } from '../../util/errors.ts';
import { call, serverUrl } from '../server-client.ts';
import type { Command } from '../main.ts';

const HELP = `Usage: hearth analyze IMAGE... [--prompt P] [--model M] [--json]

Analyses each IMAGE with a vision model of a running hearth server (its /api/v1/analyze; several images go as one
batch, /api/v1/batch, with a progress bar on stderr). The server is --host, HEARTH_HOST or http://127.0.0.1:8434;
HEARTH_API_KEY is sent as its key. Start one with: hearth serve MODEL --mmproj MMPROJ.gguf

      --prompt P         what to ask about each image (default "Describe this image.")
      --model M          the vision model (default: the server's one model); a gateway name (provider/model) works
      --max-tokens N     most tokens per analysis (default 512)
      --temperature T    sampling temperature (default: the model's)
      --format F         structured results: "json", or a file holding a JSON schema
      --concurrency N    images analysed at once in a batch (default 4)
      --json             print the results as JSON (one object per image, in order)
      --host URL         the server
`;

interface Result {
  analysis: string;
  structured?: unknown;
  model: string;
  provider: string;
  image: { width: number; height: number; format: string };
  usage: { input_tokens: number; output_tokens: number };
  duration_ms: number;
}

interface BatchStatus {
  id: string;
  status: string;
  total: number;
  progress: { done: number; completed: number; failed: number };
  items?: { index: number; status: string; result?: Result; error?: { code: string; message: string } }[];
}

/** `[#####-----] 7/20` redrawn in place on a terminal; a line per change elsewhere. */
function progress(done: number, total: number, failed: number): string {
  const width = 30;
  const full = Math.round((done / total) * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${done}/${total}${failed ? ` (${failed} failed)` : ''}`;
}

export const command: Command = {
  summary: 'analyse images with a running server\'s vision model',
  async run(argv) {
    const { values: v, positionals: files } = parse(argv, {
      prompt: { type: 'string' }, model: { type: 'string' }, json: { type: 'boolean' }, host: { type: 'string' },
      'max-tokens': { type: 'string' }, temperature: { type: 'string' }, format: { type: 'string' }, concurrency: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (v.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (files.length === 0) throw new HearthError('invalid_argument', 'name at least one IMAGE file (hearth analyze --help)');
    const images = files.map((f) => {
      try {
        return readFileSync(f).toString('base64');
      } catch (e) {
        throw new HearthError('not_found', `cannot read ${f}: ${(e as Error).message}`);
      }
    });
    let format: unknown;
    if (v.format !== undefined) {
      if (v.format === 'json') format = 'json';
      else {
        try {
          format = JSON.parse(readFileSync(v.format, 'utf8')) as unknown;
        } catch (e) {
          throw new HearthError('invalid_argument', `--format: ${v.format} is neither "json" nor a file holding a JSON schema (${(e as Error).message})`);
        }
      }
    }
    const common = {
      ...(v.prompt !== undefined ? { prompt: v.prompt } : {}), ...(v.model !== undefined ? { model: v.model } : {}),
      ...(v['max-tokens'] !== undefined ? { max_tokens: int(v['max-tokens'], '--max-tokens', 1) } : {}),
      ...(v.temperature !== undefined ? { temperature: num(v.temperature, '--temperature', (n) => n >= 0) } : {}),
      ...(format !== undefined ? { format } : {}),
    };
    const base = serverUrl(v.host);
    let results: ({ file: string } & ({ result: Result } | { error: { code: string; message: string } }))[];
    if (images.length === 1) {
      const r = await call(base, '/api/v1/analyze', { method: 'POST', body: JSON.stringify({ image: images[0], ...common }) }) as Result;
      results = [{ file: files[0]!, result: r }];
    } else {
      const concurrency = int(v.concurrency, '--concurrency', 1);
      const job = await call(base, '/api/v1/batch', {
        method: 'POST', body: JSON.stringify({ items: images.map((image) => ({ image })), ...common, ...(concurrency !== undefined ? { concurrency } : {}) }),
      }) as { id: string; total: number };
      const tty = process.stderr.isTTY;
      let shown = -1;
      let status: BatchStatus;
      for (;;) {
        status = await call(base, `/api/v1/batch/${job.id}`) as BatchStatus;
        if (status.progress.done !== shown) {
          shown = status.progress.done;
          process.stderr.write(tty ? `\r${progress(shown, status.total, status.progress.failed)}` : `${progress(shown, status.total, status.progress.failed)}\n`);
        }
        if (status.status !== 'running') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      if (tty) process.stderr.write('\n');
      if (status.status === 'cancelled') throw new HearthError('aborted', `batch ${job.id} was cancelled on the server`);
      results = (status.items ?? []).map((it) => ({ file: files[it.index]!, ...(it.result ? { result: it.result } : { error: it.error ?? { code: 'internal', message: it.status } }) }));
    }
    if (v.json) {
      process.stdout.write(`${JSON.stringify(results.map((r) => ('result' in r ? { file: r.file, ...r.result } : r)), null, 2)}\n`);
    } else {
      for (const r of results) {
        if (results.length > 1) process.stdout.write(`== ${basename(r.file)}\n`);
        process.stdout.write('result' in r ? `${r.result.structured !== undefined ? JSON.stringify(r.result.structured) : r.result.analysis}\n` : `error: ${r.error.message}\n`);
      }
    }
    return results.some((r) => 'error' in r) ? 1 : 0;
  },
};
