// The store as the server and the CLI use it: one database file, its keys, its usage log and its model catalog.

import { Database, databasePath } from './database.ts';
import { KeyStore } from './keys.ts';
import { ModelStore } from './models.ts';
import { UsageLog } from './usage.ts';

export interface Store {
  readonly database: Database;
  readonly keys: KeyStore;
  readonly usage: UsageLog;
  readonly models: ModelStore;
  close(): void;
}

/** Opens (creating and migrating) the database at `path` (default: HEARTH_DB, else HEARTH_HOME/hearth.db). */
export function openStore(path: string = databasePath(), now: () => number = Date.now): Store {
  const database = Database.open(path);
  return { database, keys: new KeyStore(database, now), usage: new UsageLog(database), models: new ModelStore(database), close: () => database.close() };
}
