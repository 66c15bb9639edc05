-- quota's first schema. Migrations are append-only: never edit or reorder a released file.
-- Timestamps are UTC RFC 3339 text; days are 'YYYY-MM-DD'.

-- Accounts as configured (or discovered), with what quota learns about them.
CREATE TABLE accounts (
    name            TEXT PRIMARY KEY NOT NULL,
    selector        TEXT NOT NULL,              -- e.g. 'api_key_id = apikey_…', for people
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'exhausted')),
    status_since    TEXT,
    last_synced_at  TEXT,                       -- data as of: the last successful sync
    created_at      TEXT NOT NULL
) STRICT;

-- Usage per (api key, workspace, UTC day), upserted: re-reading a day replaces its numbers.
-- The API's null ids (Console Playground key, Default Workspace) are stored as '' so the
-- primary key treats them as the one real value they are; real ids are never empty.
CREATE TABLE usage_daily (
    api_key_id                TEXT NOT NULL,
    workspace_id              TEXT NOT NULL,
    day                       TEXT NOT NULL,
    uncached_input_tokens     INTEGER NOT NULL CHECK (uncached_input_tokens >= 0),
    cache_creation_5m_tokens  INTEGER NOT NULL CHECK (cache_creation_5m_tokens >= 0),
    cache_creation_1h_tokens  INTEGER NOT NULL CHECK (cache_creation_1h_tokens >= 0),
    cache_read_tokens         INTEGER NOT NULL CHECK (cache_read_tokens >= 0),
    output_tokens             INTEGER NOT NULL CHECK (output_tokens >= 0),
    requests                  INTEGER CHECK (requests >= 0),   -- NULL: the source has no count
    source                    TEXT NOT NULL,
    fetched_at                TEXT NOT NULL,
    PRIMARY KEY (api_key_id, workspace_id, day)
) STRICT, WITHOUT ROWID;

CREATE INDEX usage_daily_day ON usage_daily (day);
CREATE INDEX usage_daily_workspace ON usage_daily (workspace_id, day);

-- Alerts with the columns of SPEC §4. Values are exact decimals kept as text (token counts
-- and USD alike); percentage is for display only.
CREATE TABLE alerts (
    id             TEXT PRIMARY KEY NOT NULL,
    account        TEXT NOT NULL REFERENCES accounts (name),
    type           TEXT NOT NULL,
    severity       TEXT NOT NULL CHECK (severity IN ('warning', 'critical')),
    message        TEXT NOT NULL,
    current_value  TEXT NOT NULL,
    limit_value    TEXT NOT NULL,
    percentage     REAL NOT NULL,
    quota_type     TEXT NOT NULL,
    threshold      INTEGER NOT NULL,
    period_start   TEXT NOT NULL,
    period_end     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    resolved_at    TEXT,
    resolution     TEXT CHECK (resolution IN ('manual', 'superseded', 'recovered', 'period_ended')),
    comment        TEXT,
    CHECK ((resolved_at IS NULL) = (resolution IS NULL))
) STRICT;

-- Alert identity: at most one alert ever exists for one (account, quota type, threshold,
-- period). Enforced here, not only in code.
CREATE UNIQUE INDEX alerts_identity ON alerts (account, quota_type, threshold, period_start);
CREATE INDEX alerts_open ON alerts (account) WHERE resolved_at IS NULL;
CREATE INDEX alerts_created ON alerts (created_at);

-- The notification outbox: one row per (alert event, channel), written in the transaction
-- that changes the alert, delivered after it commits.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    alert_id         TEXT NOT NULL REFERENCES alerts (id),
    channel          TEXT NOT NULL,
    event            TEXT NOT NULL CHECK (event IN ('firing', 'resolved')),
    state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    delivered_at     TEXT
) STRICT;

CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE state = 'pending';

-- Small facts about syncing (e.g. the last successful usage fetch), one row per key.
CREATE TABLE sync_state (
    key    TEXT PRIMARY KEY NOT NULL,
    value  TEXT NOT NULL
) STRICT;
