// hearth logs: the JSON log files of hearth serve (--log-dir) printed readably, the components merged by time;
// --follow keeps printing lines as they are written, across rotations.

import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { parse, int } from '../args.ts';
import { HearthError } from '../../util/errors.ts';
import { LOG_COMPONENTS, type LogComponent } from '../../server/logs/file-transport.ts';
import { defaultLogDir, formatLogLine, lineTime, listLogFiles, type LogFile } from '../../server/logs/files.ts';
import type { Command } from '../main.ts';

const HELP = `Usage: hearth logs [--follow] [--component C] [-n N] [--json] [--log-dir DIR]

Prints the log files hearth serve writes (one per component, rotated), oldest first, the components merged by time:
time, level, component, request id, message, then the line's other fields.

  -f, --follow        keep printing new lines as they are written (Ctrl-C to stop)
  -c, --component C   only these components: ${LOG_COMPONENTS.join(', ')} (repeatable or comma-separated)
  -n, --lines N       the last N lines only (default: all)
      --json          the lines as they are in the files (JSON)
      --log-dir DIR   the folder (default ~/.hearth/logs, as hearth serve's --log-dir)
`;

interface Tail {
  file: LogFile;
  offset: number;
  /** An incomplete last line, kept until its newline arrives. */
  rest: string;
}

function readFrom(t: Tail): string[] {
  let size: number;
  try {
    size = statSync(t.file.path).size;
  } catch {
    return [];
  }
  if (size < t.offset) t.offset = 0;
  if (size === t.offset) return [];
  const fd = openSync(t.file.path, 'r');
  try {
    const buf = Buffer.alloc(size - t.offset);
    const n = readSync(fd, buf, 0, buf.length, t.offset);
    t.offset += n;
    const text = t.rest + buf.subarray(0, n).toString('utf8');
    const lines = text.split('\n');
    t.rest = lines.pop() ?? '';
    return lines.filter((l) => l.length > 0);
  } finally {
    closeSync(fd);
  }
}

export const command: Command = {
  summary: 'print the log files of hearth serve',
  async run(argv) {
    const { values: v, positionals } = parse(argv, {
      follow: { type: 'boolean', short: 'f' }, component: { type: 'string', short: 'c', multiple: true },
      lines: { type: 'string', short: 'n' }, json: { type: 'boolean' }, 'log-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (v.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length) throw new HearthError('invalid_argument', `unexpected arguments: ${positionals.join(' ')}`);
    const wanted = v.component?.flatMap((c) => c.split(',').map((s) => s.trim()).filter(Boolean));
    for (const c of wanted ?? []) {
      if (!(LOG_COMPONENTS as readonly string[]).includes(c)) {
        throw new HearthError('invalid_argument', `--component must be one of ${LOG_COMPONENTS.join(', ')}; got "${c}"`);
      }
    }
    const components = new Set<LogComponent>((wanted as LogComponent[] | undefined) ?? LOG_COMPONENTS);
    const last = int(v.lines, '--lines', 0);
    const dir = v['log-dir'] ?? defaultLogDir();
    const print = (line: string) => process.stdout.write((v.json ? line : formatLogLine(line)) + '\n');
    const files = () => listLogFiles(dir).filter((f) => components.has(f.component));

    const tails = new Map<string, Tail>();
    const found = files();
    if (!found.length && !v.follow) {
      process.stderr.write(`hearth logs: no log files in ${dir}${wanted ? ` for ${[...components].join(', ')}` : ''}\n`);
      return 0;
    }
    const all: { t: number; i: number; line: string }[] = [];
    for (const f of found) {
      const text = readFileSync(f.path, 'utf8');
      const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
      tails.set(f.path, { file: f, offset: Buffer.byteLength(complete), rest: '' });
      for (const line of complete.split('\n')) if (line) all.push({ t: lineTime(line), i: all.length, line });
    }
    // one file's lines are in order already; the sort merges the components (stable, by time)
    all.sort((a, b) => a.t - b.t || a.i - b.i);
    for (const { line } of last === undefined ? all : all.slice(Math.max(0, all.length - last))) print(line);
    if (!v.follow) return 0;

    return new Promise<number>((resolve) => {
      const timer = setInterval(() => {
        const current = files();
        for (const f of current) if (!tails.has(f.path)) tails.set(f.path, { file: f, offset: 0, rest: '' });
        for (const [path, t] of tails) {
          for (const line of readFrom(t)) print(line);
          // a file the rotation deleted
          if (!current.some((f) => f.path === path)) tails.delete(path);
        }
      }, 250);
      const stop = () => {
        clearInterval(timer);
        resolve(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
};
