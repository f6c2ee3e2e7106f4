// Keys and usage in PostgreSQL, as one Repositories object: the database migrated, the key cache listening.

import type { Repositories } from '../repository.ts';
import { PostgresDatabase, type PostgresOptions } from './database.ts';
import { PgKeyStore, type PgKeyOptions } from './keys.ts';
import { PgUsageLog } from './usage.ts';

export interface PostgresRepositories extends Repositories {
  readonly database: PostgresDatabase;
  readonly keys: PgKeyStore;
  readonly usage: PgUsageLog;
}

export async function openPostgres(url: string, o: PostgresOptions & PgKeyOptions & { listen?: boolean } = {}): Promise<PostgresRepositories> {
  const database = await PostgresDatabase.open(url, o);
  const keys = new PgKeyStore(database, o);
  if (o.listen !== false) await keys.listen();
  return {
    database, keys, usage: new PgUsageLog(database), where: database.where,
    close: async () => {
      await keys.close();
      await database.close();
    },
  };
}
