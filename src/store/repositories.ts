// Opening the keys and usage repositories a command names: a postgres:// URL (--database, or HEARTH_DATABASE_URL)
// is PostgreSQL, shared by replicas; anything else is the SQLite file (default HEARTH_DB, else HEARTH_HOME/hearth.db).

import type { Repositories } from './repository.ts';
import { openStore } from './store.ts';
import { databasePath } from './database.ts';
import { isPostgresUrl } from './postgres/database.ts';
import { openPostgres } from './postgres/repositories.ts';

/** The database a command uses: the flag, else HEARTH_DATABASE_URL, else undefined (the SQLite file). */
export function databaseUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return flag ?? (env.HEARTH_DATABASE_URL || undefined);
}

export async function openRepositories(url: string | undefined, o: { listen?: boolean } = {}): Promise<Repositories> {
  if (url !== undefined && isPostgresUrl(url)) return openPostgres(url, o);
  const path = url ?? databasePath();
  const store = openStore(path);
  return { keys: store.keys, usage: store.usage, where: path, close: async () => store.close() };
}
