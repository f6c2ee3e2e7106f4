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
  // 4: conversations (src/store/conversations.ts): their items in order, the rolling summaries of compression,
  // and a full-text index over both.
  `
  CREATE TABLE conversations (
    id          TEXT PRIMARY KEY,        -- "conv_…"
    created_at  INTEGER NOT NULL,        -- Unix ms
    key_id      TEXT,                    -- the API key that created it; NULL: none (authentication off)
    metadata    TEXT NOT NULL            -- JSON object of string pairs
  ) STRICT;

  CREATE TABLE conversation_items (
    seq             INTEGER PRIMARY KEY, -- the conversation's order
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    id              TEXT NOT NULL,       -- the item's id ("msg_…", "fc_…", "fco_…", "rs_…")
    item            TEXT NOT NULL,       -- JSON: the item as it is listed
    text            TEXT NOT NULL,       -- what search reads: message text, call name and arguments, output
    UNIQUE (conversation_id, id)
  ) STRICT;

  CREATE TABLE conversation_summaries (
    id              INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    from_seq        INTEGER NOT NULL,    -- the span this step folded in: items from_seq … through_seq
    through_seq     INTEGER NOT NULL,    -- the summary covers every item up to here
    turns           INTEGER NOT NULL,    -- turns it covers, in all
    text            TEXT NOT NULL,
    model           TEXT NOT NULL,       -- the model that wrote it
    created_at      INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX conversation_summaries_through ON conversation_summaries (conversation_id, through_seq);

  -- rowid: an item's seq, or a summary's id negated
  CREATE VIRTUAL TABLE conversation_search USING fts5 (text, conversation_id UNINDEXED);
  CREATE TRIGGER conversation_items_indexed AFTER INSERT ON conversation_items BEGIN
    INSERT INTO conversation_search (rowid, text, conversation_id) VALUES (new.seq, new.text, new.conversation_id);
  END;
  CREATE TRIGGER conversation_items_unindexed AFTER DELETE ON conversation_items BEGIN
    DELETE FROM conversation_search WHERE rowid = old.seq;
  END;
  CREATE TRIGGER conversation_summaries_indexed AFTER INSERT ON conversation_summaries BEGIN
    INSERT INTO conversation_search (rowid, text, conversation_id) VALUES (-new.id, new.text, new.conversation_id);
  END;
  CREATE TRIGGER conversation_summaries_unindexed AFTER DELETE ON conversation_summaries BEGIN
    DELETE FROM conversation_search WHERE rowid = -old.id;
  END;
  `,
  // 5: the knowledge base (src/knowledge/): uploaded files, vector stores, their files' ingest state, chunks with
  // embeddings (little-endian float32 blobs) and an FTS5 index of the chunks' text.
  `
  CREATE TABLE kb_files (
    id          TEXT PRIMARY KEY,        -- "file-…"
    filename    TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    bytes       INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,        -- Unix ms
    content     BLOB NOT NULL
  ) STRICT;

  CREATE TABLE kb_stores (
    id          TEXT PRIMARY KEY,        -- "vs_…"
    name        TEXT NOT NULL,
    model       TEXT NOT NULL,           -- the embedding model
    metadata    TEXT NOT NULL,           -- JSON object
    created_at  INTEGER NOT NULL,
    last_active INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX kb_stores_name ON kb_stores (name);

  CREATE TABLE kb_store_files (
    store_id      TEXT NOT NULL REFERENCES kb_stores (id) ON DELETE CASCADE,
    file_id       TEXT NOT NULL,
    status        TEXT NOT NULL,         -- in_progress | completed | failed
    last_error    TEXT,                  -- JSON {code, message} when failed
    attributes    TEXT NOT NULL,         -- JSON object
    max_tokens    INTEGER NOT NULL,
    overlap       INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    chunks        INTEGER NOT NULL DEFAULT 0,
    usage_bytes   INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (store_id, file_id)
  ) STRICT;
  CREATE INDEX kb_store_files_status ON kb_store_files (status);

  CREATE TABLE kb_chunks (
    id        INTEGER PRIMARY KEY,
    store_id  TEXT NOT NULL,
    file_id   TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    text      TEXT NOT NULL,
    embedding BLOB NOT NULL,
    UNIQUE (store_id, file_id, seq)
  ) STRICT;

  CREATE VIRTUAL TABLE kb_chunks_fts USING fts5(text, content='kb_chunks', content_rowid='id');
  CREATE TRIGGER kb_chunks_ai AFTER INSERT ON kb_chunks BEGIN
    INSERT INTO kb_chunks_fts (rowid, text) VALUES (new.id, new.text);
  END;
  CREATE TRIGGER kb_chunks_ad AFTER DELETE ON kb_chunks BEGIN
    INSERT INTO kb_chunks_fts (kb_chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
  END;
  `,
  // 6: the gateway (src/provider/gateway/): which provider and upstream model answered each request, whether its
  // token counts were estimated, and provider secrets (hearth secrets set), encrypted with a key kept outside the database.
  `
  ALTER TABLE usage ADD COLUMN provider TEXT;            -- the upstream provider's name; NULL: a local model
  ALTER TABLE usage ADD COLUMN upstream_model TEXT;      -- the model name the upstream was asked for
  ALTER TABLE usage ADD COLUMN tokens_estimated INTEGER; -- 1: the upstream reported no usage, the counts are estimates

  CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    iv         BLOB NOT NULL,            -- AES-256-GCM nonce (12 bytes)
    tag        BLOB NOT NULL,            -- its authentication tag (16 bytes)
    ciphertext BLOB NOT NULL,
    created_at INTEGER NOT NULL,         -- Unix ms
    updated_at INTEGER NOT NULL
  ) STRICT;
  `,
  // 7: image-analysis batches (src/store/batches.ts): a job and its items in order, each item's image until it is
  // done and its result or error after; an item's attempts count the runs it was started on.
  `
  CREATE TABLE batches (
    id          TEXT PRIMARY KEY,        -- "batch_…"
    key_id      TEXT,                    -- the key that created it; NULL: authentication off
    model       TEXT NOT NULL,
    prompt      TEXT,                    -- the items' default prompt
    options     TEXT NOT NULL,           -- JSON {max_tokens, temperature, format}
    concurrency INTEGER NOT NULL,
    status      TEXT NOT NULL,           -- running | completed | cancelled
    total       INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,        -- Unix ms
    finished_at INTEGER
  ) STRICT;
  CREATE INDEX batches_status ON batches (status);

  CREATE TABLE batch_items (
    batch_id     TEXT NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    image        BLOB,                   -- the encoded image; NULL once the item is done
    prompt       TEXT,
    status       TEXT NOT NULL,          -- pending | running | completed | failed | cancelled
    attempts     INTEGER NOT NULL DEFAULT 0,
    result       TEXT,                   -- JSON analysis when completed
    error        TEXT,                   -- JSON {code, message} when failed
    started_at   INTEGER,
    finished_at  INTEGER,
    PRIMARY KEY (batch_id, seq)
  ) STRICT;
  CREATE INDEX batch_items_status ON batch_items (batch_id, status);
  `,
  // 8: the assistant (src/agent/): its tasks, each action a tool call made (with the decision on it and who made it),
  // the risk assessment and the reviewer model's verdict of each action, and the approvals asked of a person.
  `
  CREATE TABLE agent_tasks (
    id          TEXT PRIMARY KEY,        -- "task_…"
    created_at  INTEGER NOT NULL,        -- Unix ms
    key_id      TEXT,                    -- the API key that started it, its owner; NULL: the CLI, or authentication off
    workspace   TEXT NOT NULL,           -- the git work tree it changes
    task        TEXT NOT NULL,
    model       TEXT NOT NULL,
    reviewer    TEXT,                    -- the reviewer model; NULL: none
    status      TEXT NOT NULL,           -- running | done | failed | cancelled
    summary     TEXT,                    -- the reasoning summary (the model's plan, and its finish note)
    error       TEXT,
    finished_at INTEGER
  ) STRICT;

  CREATE TABLE agent_actions (
    id          TEXT PRIMARY KEY,        -- "act_…"
    task_id     TEXT NOT NULL REFERENCES agent_tasks (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,        -- the task's order
    created_at  INTEGER NOT NULL,
    tool        TEXT NOT NULL,
    arguments   TEXT NOT NULL,           -- JSON, as the model wrote them
    status      TEXT NOT NULL,           -- proposed | ran | denied | failed
    decision    TEXT,                    -- run | deny
    decided_by  TEXT,                    -- policy | reviewer:MODEL | human:NAME | discord:USER | timeout
    reason      TEXT,
    result      TEXT,                    -- JSON: what the tool gave back
    commit_sha  TEXT,                    -- the commit that recorded its change; NULL: none
    finished_at INTEGER,
    UNIQUE (task_id, seq)
  ) STRICT;

  CREATE TABLE agent_assessments (
    id          INTEGER PRIMARY KEY,
    action_id   TEXT NOT NULL REFERENCES agent_actions (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    language    TEXT,                    -- python | node | bash; NULL: not code
    level       TEXT NOT NULL,           -- LOW | MEDIUM | HIGH | BLOCKED
    findings    TEXT NOT NULL            -- JSON array of findings
  ) STRICT;
  CREATE INDEX agent_assessments_action ON agent_assessments (action_id);

  CREATE TABLE agent_reviews (
    id          INTEGER PRIMARY KEY,
    action_id   TEXT NOT NULL REFERENCES agent_actions (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    model       TEXT NOT NULL,
    verdict     TEXT NOT NULL,           -- approve | concerns | reject
    reasons     TEXT NOT NULL            -- JSON array of strings
  ) STRICT;
  CREATE INDEX agent_reviews_action ON agent_reviews (action_id);

  CREATE TABLE agent_approvals (
    id          TEXT PRIMARY KEY,        -- "apr_…"
    action_id   TEXT NOT NULL REFERENCES agent_actions (id) ON DELETE CASCADE,
    task_id     TEXT NOT NULL,
    key_id      TEXT,                    -- the task's owner (may answer besides admin keys)
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,        -- no answer by then: denied
    status      TEXT NOT NULL,           -- pending | approved | denied | expired
    decided_by  TEXT,                    -- a key's name, a Discord user id, or timeout
    channel     TEXT,                    -- http | discord | timeout | restart
    decided_at  INTEGER,
    request     TEXT NOT NULL            -- JSON: what the person is shown (task, action, risk, review)
  ) STRICT;
  CREATE INDEX agent_approvals_status ON agent_approvals (status, created_at);
  `,
];
