// The schema, as numbered steps: MIGRATIONS[i] takes a database from user_version i to i + 1. Append only:
// a released step never changes, because databases in the field have already run it.

export const MIGRATIONS: readonly string[] = [
  // 1: API keys and the usage log.
  `
  CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    prefix      TEXT NOT NULL,           -- "hth_" and the secret's first 8 characters, to find and show a key
    hash        BLOB NOT NULL,           -- SHA-256 of the whole secret; the secret itself is never stored
    scopes      TEXT NOT NULL,           -- space-separated
    models      TEXT,                    -- JSON array of allowed model names; NULL: any
    rpm         INTEGER,                 -- requests per window; NULL: no limit
    tpm         INTEGER,                 -- prompt + completion tokens per window; NULL: no limit
    concurrency INTEGER,                 -- requests in flight; NULL: no limit
    created_at  INTEGER NOT NULL,        -- Unix ms
    expires_at  INTEGER,
    revoked_at  INTEGER
  ) STRICT;
  CREATE INDEX api_keys_prefix ON api_keys (prefix);

  CREATE TABLE usage (
    id                INTEGER PRIMARY KEY,
    at                INTEGER NOT NULL,  -- Unix ms when the response ended
    key_id            TEXT,              -- NULL: no valid key (or authentication off)
    request_id        TEXT,
    method            TEXT NOT NULL,
    route             TEXT NOT NULL,
    model             TEXT,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    status            INTEGER NOT NULL,
    duration_ms       REAL NOT NULL,
    client            TEXT
  ) STRICT;
  CREATE INDEX usage_at ON usage (at);
  CREATE INDEX usage_key_at ON usage (key_id, at);
  `,
  // 2: the model catalog (src/store/models.ts).
  `
  CREATE TABLE models (
    name           TEXT PRIMARY KEY,     -- canonical: lower case, no ":latest"
    display_name   TEXT NOT NULL,
    path           TEXT NOT NULL,        -- relative to the models folder when inside it
    parts          TEXT NOT NULL,        -- JSON array of every file, stored as path is
    source         TEXT,
    sha256         TEXT,
    size           INTEGER NOT NULL,
    arch           TEXT,
    param_count    INTEGER,
    quantization   TEXT,
    context_length INTEGER,
    added_at       INTEGER NOT NULL,     -- Unix ms
    modified_at    INTEGER NOT NULL,
    preset         TEXT                  -- JSON ModelPreset; NULL: none
  ) STRICT;
  CREATE INDEX models_path ON models (path);
  `,
  // 3: stored OpenAI Responses (src/store/responses.ts).
  `
  CREATE TABLE responses (
    id          TEXT PRIMARY KEY,        -- "resp_…"
    created_at  INTEGER NOT NULL,        -- Unix ms
    key_id      TEXT,                    -- the API key that created it; NULL: none (authentication off)
    previous_id TEXT,                    -- the response it continues (previous_response_id); NULL: none
    model       TEXT NOT NULL,
    input       TEXT NOT NULL,           -- JSON array: this request's input items, with their ids
    response    TEXT NOT NULL            -- JSON: the response object as it was returned
  ) STRICT;
  CREATE INDEX responses_created ON responses (created_at);

  CREATE TABLE response_items (
    id          TEXT PRIMARY KEY,        -- an output item's id ("msg_…", "fc_…", "rs_…"), for item_reference
    response_id TEXT NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    item        TEXT NOT NULL            -- JSON: the item as the response returned it
  ) STRICT;
  CREATE INDEX response_items_response ON response_items (response_id);
  `,
];
