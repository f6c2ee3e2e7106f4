// hearth pull SOURCE [--name NAME] [--quiet]: downloads a GGUF model into HEARTH_MODELS from Ollama's registry
// (NAME[:TAG], ollama.com/NAMESPACE/NAME[:TAG]), the Hugging Face Hub (hf.co/OWNER/REPO[:QUANT],
// hf.co/OWNER/REPO/FILE.gguf, a resolve URL) or a plain URL, and records it in the catalog. Progress goes to stderr
// (a bar on a terminal, plain lines otherwise); the final path goes to stdout.

import { parse } from '../args.ts';
import { pull, type PullProgress } from '../../library/pull.ts';
import { HearthError } from '../../util/errors.ts';
import { Library } from '../../library/library.ts';
import type { Command } from '../main.ts';

const HELP = `Usage: hearth pull SOURCE [--name NAME] [--quiet]

SOURCE is one of
  NAME[:TAG]                        a model in Ollama's registry (tag default latest), e.g. llama3.2:1b
  ollama.com/NAMESPACE/NAME[:TAG]   the same, with its namespace (registry.ollama.ai/... too)
  hf.co/OWNER/REPO[:QUANT]          a GGUF repo on the Hugging Face Hub (default quant Q4_K_M)
  hf.co/OWNER/REPO/FILE.gguf        one file of a Hub repo
  https://huggingface.co/OWNER/REPO/resolve/REV/FILE.gguf, or an https URL of a .gguf
A split GGUF (FILE-00001-of-0000N.gguf) is pulled whole, every part checked.
The model lands in HEARTH_MODELS (default ~/.hearth/models) and is listed under --name, NAME:TAG for a
registry model, or its file name; an interrupted pull resumes.
HF_TOKEN authorizes gated repos; HF_ENDPOINT names another Hub; HEARTH_OLLAMA_REGISTRY another registry.
`;

function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

/** A progress printer: a redrawn bar when stderr is a terminal, one line per status (and every 10%) otherwise. */
export function progressPrinter(out: NodeJS.WriteStream = process.stderr): (p: PullProgress) => void {
  const tty = out.isTTY === true;
  let start = 0, startBytes = 0, lastStatus = '', lastTenth = -1;
  return (p) => {
    const counting = p.completed !== undefined;
    if (!counting) {
      if (tty && lastStatus.startsWith('pulling ') && lastStatus !== 'pulling manifest') out.write('\n');
      out.write(`${p.status}\n`);
      lastStatus = p.status;
      return;
    }
    if (p.status !== lastStatus) { start = Date.now(); startBytes = p.completed!; lastStatus = p.status; }
    const total = p.total;
    const elapsed = (Date.now() - start) / 1000;
    const speed = elapsed > 0 ? (p.completed! - startBytes) / elapsed : 0;
    const frac = total ? p.completed! / total : 0;
    if (tty) {
      const width = 30, fill = Math.round(frac * width);
      const eta = total && speed > 0 ? (total - p.completed!) / speed : NaN;
      out.write(`\r${p.status} [${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${bytes(p.completed!)}${total ? `/${bytes(total)}` : ''} ${bytes(speed)}/s ETA ${duration(eta)}   `);
    } else {
      const tenth = Math.floor(frac * 10);
      if (tenth !== lastTenth) { lastTenth = tenth; out.write(`${p.status} ${bytes(p.completed!)}${total ? `/${bytes(total)} (${Math.round(frac * 100)}%)` : ''}\n`); }
    }
  };
}

export const command: Command = {
  summary: "download a GGUF model from Ollama's registry, the Hugging Face Hub or a URL",
  async run(argv) {
    const { values, positionals } = parse(argv, {
      name: { type: 'string' }, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' },
    });
    if (values.help) { process.stdout.write(HELP); return 0; }
    if (positionals.length !== 1) throw new HearthError('invalid_argument', `expected one SOURCE\n\n${HELP}`);
    const ac = new AbortController();
    const onSigint = () => ac.abort();
    process.once('SIGINT', onSigint);
    try {
      const r = await pull(positionals[0]!, { name: values.name, signal: ac.signal, onProgress: values.quiet ? undefined : progressPrinter() });
      const lib = Library.open();
      try { lib.record({ ...r, source: r.source ?? positionals[0] }); } finally { lib.close(); }
      process.stdout.write(`${r.path}\n`);
      if (r.mmproj) process.stdout.write(`${r.mmproj}\n`);
      return 0;
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};
