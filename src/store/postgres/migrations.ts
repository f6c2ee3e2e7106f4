// The PostgreSQL schema of the tables a cluster shares (keys and usage), as numbered steps like the SQLite list
// (store/migrations.ts). Each step mirrors the SQLite steps of the same tables, with PostgreSQL's types: BIGINT
// for Unix ms, BYTEA for hashes, an identity column for the usage id. Append only, as there.
//
// SQLite step → PostgreSQL step: 1 (api_keys, usage) → 1; 6 (usage.provider, upstream_model, tokens_estimated) → 2.
// Steps 2-5 and the secrets table of 6 (model catalog, stored responses, conversations, knowledge base,
// provider secrets) stay in each replica's SQLite file.

export const PG_MIGRATIONS: readonly string[] = [
  // 1: API keys and the usage log (SQLite step 1).
  `
  CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    hash        BYTEA NOT NULL,
    scopes      TEXT NOT NULL,
    models      TEXT,
    rpm         INTEGER,
    tpm         INTEGER,
    concurrency INTEGER,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT
  );
  CREATE INDEX api_keys_prefix ON api_keys (prefix);

  CREATE TABLE usage (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                BIGINT NOT NULL,
    key_id            TEXT,
    request_id        TEXT,
    method            TEXT NOT NULL,
    route             TEXT NOT NULL,
    model             TEXT,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    status            INTEGER NOT NULL,
    duration_ms       DOUBLE PRECISION NOT NULL,
    client            TEXT
  );
  CREATE INDEX usage_at ON usage (at);
  CREATE INDEX usage_key_at ON usage (key_id, at);
  `,
  // 2: the gateway's columns of the usage log (SQLite step 6).
  `
  ALTER TABLE usage ADD COLUMN provider TEXT;
  ALTER TABLE usage ADD COLUMN upstream_model TEXT;
  ALTER TABLE usage ADD COLUMN tokens_estimated BOOLEAN;
  `,
];
