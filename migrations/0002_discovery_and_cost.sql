-- API keys found through GET /v1/organizations/api_keys ([discovery] api_keys). Each active
-- key is an account named by `account`, a slug of its name that never changes once given.
CREATE TABLE api_keys (
    id             TEXT PRIMARY KEY NOT NULL,
    name           TEXT NOT NULL,
    account        TEXT NOT NULL UNIQUE,
    workspace_id   TEXT NOT NULL,            -- '' is the Default Workspace
    active         INTEGER NOT NULL CHECK (active IN (0, 1)),
    first_seen_at  TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL
) STRICT;

-- Daily cost per workspace from the cost report, in cents, as the exact decimal text the API
-- gives ("123.45" is $1.2345). Upserted like usage.
CREATE TABLE cost_daily (
    workspace_id  TEXT NOT NULL,             -- '' is the Default Workspace
    day           TEXT NOT NULL,
    amount_cents  TEXT NOT NULL,
    fetched_at    TEXT NOT NULL,
    PRIMARY KEY (workspace_id, day)
) STRICT, WITHOUT ROWID;
