// The log folder's files, as the pino-roll transport names them: COMPONENT.N.log, or COMPONENT.YYYY-MM-DD.N.log
// with --log-rotate daily; and one line of a file made readable, for hearth logs.

import { readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { LOG_COMPONENTS, type LogComponent } from './file-transport.ts';

/** The default log folder: logs in HEARTH_HOME (default ~/.hearth). */
export function defaultLogDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.HEARTH_HOME ?? join(homedir(), '.hearth'), 'logs');
}

export interface LogFile {
  path: string;
  name: string;
  component: LogComponent;
  /** The day of a daily file (YYYY-MM-DD), '' otherwise. */
  day: string;
  n: number;
}

const NAME = new RegExp(`^(${LOG_COMPONENTS.join('|')})\\.(?:(\\d{4}-\\d{2}-\\d{2})\\.)?(\\d+)\\.log$`);

/** The folder's log files, oldest first within each component (by day, then number); none when it is missing. */
export function listLogFiles(dir: string): LogFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const files: LogFile[] = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (m) files.push({ path: join(dir, name), name, component: m[1] as LogComponent, day: m[2] ?? '', n: Number(m[3]) });
  }
  return files.sort((a, b) => a.component.localeCompare(b.component) || a.day.localeCompare(b.day) || a.n - b.n);
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields every line has, shown in the line's head or not at all. */
const HEAD = new Set(['level', 'time', 'pid', 'hostname', 'component', 'msg', 'reqId']);

const show = (v: unknown): string => {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  return JSON.stringify(v);
};

/**
 * One JSON log line as a person reads it: the UTC time, level, component, request id, message, then the
 * other fields as key=value. A line that is not JSON comes back as it was.
 */
export function formatLogLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return line;
  const time = typeof o.time === 'number' ? new Date(o.time).toISOString().replace('T', ' ').replace('Z', '') : '-';
  const level = (LEVEL_NAMES[o.level as number] ?? String(o.level ?? '-')).padEnd(5);
  const component = String(o.component ?? 'server').padEnd(6);
  const req = o.reqId !== undefined ? ` [${String(o.reqId)}]` : '';
  const rest = Object.entries(o).filter(([k, v]) => !HEAD.has(k) && v !== undefined).map(([k, v]) => `${k}=${show(v)}`);
  return `${time} ${level} ${component}${req} ${String(o.msg ?? '')}${rest.length ? '  ' + rest.join(' ') : ''}`;
}

/** The time of a JSON log line (ms), for merging components; 0 when it has none. */
export function lineTime(line: string): number {
  const m = /"time":(\d+)/.exec(line);
  return m ? Number(m[1]) : 0;
}
