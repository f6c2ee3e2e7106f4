// The pino transport behind --log-dir: it runs in pino's worker thread, reads the JSON lines the server's logger
// writes, and appends each to its component's file (access, server, engine, agent) through pino-roll, which rotates
// by size and/or day and removes the oldest files beyond the kept count. A component's file opens at its first line.

import { join } from 'node:path';
import build from 'pino-abstract-transport';
import pinoRoll from 'pino-roll';
import type { Writable } from 'node:stream';

/** What the worker is given (plain data: it crosses to the worker thread). */
export interface FileTransportOptions {
  dir: string;
  /** Bytes a file may reach before the next one starts; undefined: no size limit. */
  maxBytes?: number;
  /** Start a new file each day. */
  daily?: boolean;
  /** Rotated files kept per component besides the one being written. */
  keep: number;
}

/** The components a line may name (`component` field); anything else goes to the server's file. */
export const LOG_COMPONENTS = ['access', 'server', 'engine', 'agent'] as const;
export type LogComponent = (typeof LOG_COMPONENTS)[number];

interface RollStream extends Writable {
  flush(cb: (err?: Error) => void): void;
  end(): this;
}

function componentOf(line: string): LogComponent {
  const i = line.indexOf('"component":"');
  if (i < 0) return 'server';
  const start = i + 13;
  const name = line.slice(start, line.indexOf('"', start));
  return (LOG_COMPONENTS as readonly string[]).includes(name) ? (name as LogComponent) : 'server';
}

export default async function fileTransport(o: FileTransportOptions) {
  const streams = new Map<LogComponent, Promise<RollStream>>();
  const open = (c: LogComponent): Promise<RollStream> => {
    let s = streams.get(c);
    if (!s) {
      s = pinoRoll({
        file: join(o.dir, c), extension: '.log', mkdir: true,
        ...(o.maxBytes !== undefined ? { size: `${o.maxBytes}b` } : {}),
        ...(o.daily ? { frequency: 'daily', dateFormat: 'yyyy-MM-dd' } : {}),
        // every file of the component counts, those of earlier runs too
        limit: { count: o.keep, removeOtherLogFiles: true },
      }) as Promise<RollStream>;
      streams.set(c, s);
    }
    return s;
  };
  return build(async (source: AsyncIterable<string>) => {
    for await (const line of source) {
      const stream = await open(componentOf(line));
      if (!stream.write(line + '\n')) await new Promise((r) => stream.once('drain', r));
    }
  }, {
    parse: 'lines',
    // pino wrote the line: no need to parse it here
    parseLine: (line: string) => line,
    async close() {
      await Promise.all([...streams.values()].map(async (p) => {
        const s = await p;
        await new Promise<void>((resolve) => {
          s.once('close', () => resolve());
          s.once('error', () => resolve());
          s.end();
        });
      }));
    },
  });
}
