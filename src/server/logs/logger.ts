// The server's logger: JSON lines on stdout (for containers and journald) and, with a log folder, in one rotated
// file per component through the pino-roll transport (file-transport.ts, in pino's worker thread). Both get the
// same redaction (middleware/redact.ts): the logger's configuration, not each call, keeps secrets out.

import { accessSync, constants, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pino, { type DestinationStream, type Logger, type StreamEntry } from 'pino';
import { HearthError } from '../../util/errors.ts';
import { redactionOptions } from '../middleware/redact.ts';
import type { FileTransportOptions, LogComponent } from './file-transport.ts';

export type { LogComponent } from './file-transport.ts';
export { LOG_COMPONENTS } from './file-transport.ts';

export interface LoggerOptions {
  /** pino level: fatal, error, warn, info, debug, trace, silent. */
  level: string;
  /** JSON lines on stdout too (default true). */
  stdout?: boolean;
  /** The folder of rotated files per component; none: stdout only. */
  files?: FileTransportOptions;
  /**
   * Called once if the files' worker fails (a disk that cannot be written): the lines go on to stdout only. Default:
   * a warning line through the logger (so on stdout).
   */
  onFileError?: (error: Error) => void;
}

export interface ServerLogger {
  /** The root logger: its lines are the server component's unless they say otherwise. */
  readonly logger: Logger;
  /** A child logger whose lines go to `component`'s file. */
  component(component: LogComponent): Logger;
  /** Writes out what is buffered and closes the files (the transport's worker ends). */
  close(): Promise<void>;
}

const TRANSPORT = fileURLToPath(new URL('./file-transport.ts', import.meta.url));

export function createLogger(o: LoggerOptions): ServerLogger {
  const streams: StreamEntry[] = [];
  const level = o.level as pino.Level;
  const silent = o.level === 'silent';
  let failed: Error | undefined;
  let stdout: pino.DestinationStream & { flushSync?: () => void } | undefined;
  if ((o.stdout ?? true) && !silent) {
    stdout = pino.destination({ dest: 1, sync: true });
    streams.push({ level, stream: stdout });
  }
  let transport: (DestinationStream & NodeJS.EventEmitter & { end(): void }) | undefined;
  if (o.files && !silent) {
    const dir = o.files.dir;
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
    } catch (e) {
      throw new HearthError('io_error', `cannot write logs into ${dir}: ${(e as Error).message} (--log-dir)`, { cause: e });
    }
    transport = pino.transport({ target: TRANSPORT, options: o.files }) as typeof transport;
    // A failed worker must not take the server with it (thread-stream reports it as an 'error' event): the files
    // stop, stdout goes on.
    const files = transport!;
    streams.push({ level, stream: { write: (line: string) => { if (!failed) files.write(line); } } });
    files.on('error', (e: Error) => {
      if (failed) return;
      failed = e;
      if (o.onFileError) o.onFileError(e);
      else logger.warn({ err: e.message, dir }, 'log files failed; logging to stdout only');
    });
  }
  const logger: Logger = pino({ level, ...redactionOptions() }, pino.multistream(streams));
  let closed: Promise<void> | undefined;
  return {
    logger,
    component: (component) => logger.child({ component }),
    close() {
      closed ??= new Promise<void>((resolve) => {
        stdout?.flushSync?.();
        if (!transport || failed) return resolve();
        // The worker is unref'd: this timer keeps the process up until it has written its files (at most 10 s).
        const cap = setTimeout(resolve, 10_000);
        const done = () => (clearTimeout(cap), resolve());
        transport.once('close', done);
        transport.on('error', done);
        transport.end();
      });
      return closed;
    },
  };
}
