// The store as the server and the CLI use it: one database file, its keys, its usage log, its model catalog, its stored
// responses, its conversations, its analysis batches and the assistant's record.

import { Database, databasePath } from './database.ts';
import { KeyStore } from './keys.ts';
import { ModelStore } from './models.ts';
import { ResponseStore } from './responses.ts';
import { ConversationStore } from './conversations.ts';
import { UsageLog } from './usage.ts';
import { BatchStore } from './batches.ts';
import { AgentStore } from './agent.ts';

export interface Store {
  readonly database: Database;
  readonly keys: KeyStore;
  readonly usage: UsageLog;
  readonly models: ModelStore;
  readonly responses: ResponseStore;
  readonly conversations: ConversationStore;
  /** Image-analysis batches (POST /api/v1/batch). */
  readonly batches: BatchStore;
  /** The assistant's tasks, actions, assessments, reviews and approvals. */
  readonly agent: AgentStore;
  close(): void;
}

/** Opens (creating and migrating) the database at `path` (default: HEARTH_DB, else HEARTH_HOME/hearth.db). */
export function openStore(path: string = databasePath(), now: () => number = Date.now): Store {
  const database = Database.open(path);
  return { database, keys: new KeyStore(database, now), usage: new UsageLog(database), models: new ModelStore(database),
    responses: new ResponseStore(database, { now }), conversations: new ConversationStore(database, now),
    batches: new BatchStore(database, now), agent: new AgentStore(database, now), close: () => database.close() };
}
