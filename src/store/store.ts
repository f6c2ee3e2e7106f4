// The store as the server and the CLI use it: one database file, its keys and its usage log.

import { Database, databasePath } from './database.ts';
import { KeyStore } from './keys.ts';
import { UsageLog } from './usage.ts';

export interface Store {
  readonly database: Database;
  readonly keys: KeyStore;
  readonly usage: UsageLog;
  close(): void;
}

/** Opens (creating and migrating) the database at `path` (default: HEARTH_DB, else HEARTH_HOME/hearth.db). */
export function openStore(path: string = databasePath(), now: () => number = Date.now): Store {
  const database = Database.open(path);
  return { database, keys: new KeyStore(database, now), usage: new UsageLog(database), close: () => database.close() };
}
