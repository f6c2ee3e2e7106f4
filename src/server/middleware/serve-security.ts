// Whether `hearth serve` authenticates, decided before it listens: on by default whenever it listens beyond
// loopback, and then it refuses to start without a key; opt-in on loopback (--auth). --insecure-no-auth is the
// one way to expose an open server, and it says so loudly.

import { HearthError } from '../../util/errors.ts';
import { openStore, type Store } from '../../store/store.ts';
import { databasePath, type Database } from '../../store/database.ts';
import type { ResponseStore } from '../../store/responses.ts';
import type { ConversationStore } from '../../store/conversations.ts';
import type { BatchStore } from '../../store/batches.ts';
import type { SecurityOptions } from './security.ts';
import { isLoopback } from './host-check.ts';

export interface ServeSecurityFlags {
  host: string;
  /** --auth: require keys on loopback too. */
  auth?: boolean;
  /** --insecure-no-auth: no keys even beyond loopback. */
  insecureNoAuth?: boolean;
  corsOrigins?: string[];
  /** --allowed-hosts: Host names accepted besides this machine's when listening on loopback. */
  allowedHosts?: string[];
  metricsOpen?: boolean;
  /** The database (default HEARTH_DB, else HEARTH_HOME/hearth.db). */
  dbPath?: string;
}

export interface ServeSecurity {
  options: SecurityOptions;
  /** The database's stored responses (POST /v1/responses), when the database opened. */
  responses?: ResponseStore;
  /** The database itself, when it opened (the knowledge base keeps its files and vector stores there). */
  database?: Database;
  /** The database's conversations (/v1/conversations, hearth-conversation), when the database opened. */
  conversations?: ConversationStore;
  /** The database's analysis batches (POST /api/v1/batch), when the database opened. */
  batches?: BatchStore;
  /** Authentication is on. */
  auth: boolean;
  /** Lines for the log, at warn level, once listening. */
  warnings: string[];
  close(): void;
}

export { isLoopback };

export function serveSecurity(f: ServeSecurityFlags): ServeSecurity {
  if (f.auth && f.insecureNoAuth) throw new HearthError('invalid_argument', '--auth and --insecure-no-auth contradict each other');
  const loopback = isLoopback(f.host);
  const auth = f.insecureNoAuth ? false : (f.auth ?? false) || !loopback;
  const path = f.dbPath ?? databasePath();
  const warnings: string[] = [];
  let store: Store | undefined;
  try {
    store = openStore(path);
  } catch (e) {
    if (auth) throw e;
    // Without authentication the database only holds the usage audit: serve anyway, and say so.
    warnings.push(`the usage audit is off: ${(e as Error).message}`);
  }
  if (auth && store!.keys.activeCount() === 0) {
    store!.close();
    const where = loopback ? 'with --auth' : `on ${f.host}, beyond this machine,`;
    throw new HearthError('invalid_argument',
      `refusing to serve ${where} without an API key: none is active in ${path}. Create one with "hearth keys create --name NAME"` +
      (loopback ? '' : ', or pass --insecure-no-auth to serve without authentication (anyone who can reach the port can use it)'));
  }
  if (!auth && !loopback) {
    warnings.push(`AUTHENTICATION IS OFF (--insecure-no-auth): anyone who can reach ${f.host} can use this server, read its metrics and fill its queue`);
  }
  if (!auth && f.metricsOpen) warnings.push('--metrics-open has no effect without authentication: every endpoint is open');
  return {
    options: { keys: auth ? store!.keys : undefined, usage: store?.usage, corsOrigins: f.corsOrigins, allowedHosts: f.allowedHosts, metricsOpen: f.metricsOpen },
    ...(store ? { responses: store.responses, conversations: store.conversations, batches: store.batches, database: store.database } : {}),
    auth,
    warnings,
    close: () => store?.close(),
  };
}
