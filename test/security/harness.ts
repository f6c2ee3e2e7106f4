// A live server with authentication on, over stories260K: a temporary database, a hand-moved clock for keys
// and rate windows, and every log line kept for inspection.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../server/harness.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { InProcessRateLimiter } from '../../src/server/middleware/rate-limit.ts';
import type { SecurityOptions } from '../../src/server/middleware/security.ts';

export interface SecureServer extends TestServer {
  store: Store;
  dbPath: string;
  limiter: InProcessRateLimiter;
  /** The clock of keys and rate windows, in ms; tests move it. */
  clock: { t: number };
  logs: string[];
}

export interface SecureOptions {
  /** The rate window (default 60 s). */
  windowMs?: number;
  /** Move time by hand (default); false: the real clock. */
  manualClock?: boolean;
  security?: Partial<SecurityOptions>;
  /** No keys: authentication off. */
  noAuth?: boolean;
  parallel?: number;
}

export function tempDir(prefix = 'hearth-sec-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function startSecureServer(o: SecureOptions = {}): Promise<SecureServer> {
  const clock = { t: Date.now() };
  const now = o.manualClock === false ? () => Date.now() : () => clock.t;
  const dbPath = join(tempDir(), 'hearth.db');
  const store = openStore(dbPath, now);
  const limiter = new InProcessRateLimiter({ windowMs: o.windowMs, now });
  const logs: string[] = [];
  const srv = await startServer({
    parallel: o.parallel ?? 4,
    app: {
      logger: { level: 'trace', stream: { write: (line: string) => void logs.push(line) } },
      security: { keys: o.noAuth ? undefined : store.keys, usage: store.usage, limiter, now, ...o.security },
    },
  });
  return Object.assign(srv, {
    store, dbPath, limiter, clock, logs,
    close: async () => {
      await srv.app.close();
      store.close();
    },
  });
}

/** fetch with a key (undefined: none) and a JSON body. */
export async function call(base: string, path: string, o: { key?: string; body?: unknown; method?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...o.headers };
  if (o.key !== undefined) headers.authorization = `Bearer ${o.key}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method: o.method ?? (o.body === undefined ? 'GET' : 'POST'), headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

export const CHAT = { model: 'stories260K', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 4, temperature: 0 };
