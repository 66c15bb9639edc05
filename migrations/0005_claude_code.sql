-- Claude Code usage per developer (ADMIN_API.md §5): one row per actor and UTC day, summed
-- over terminals, local/remote and models. Re-reading a day replaces all of that day's rows.
-- actor_type is 'user' (actor = e-mail, lowercase) or 'api_key' (actor = the key's name).
CREATE TABLE developer_daily (
    day                    TEXT NOT NULL,
    actor_type             TEXT NOT NULL CHECK (actor_type IN ('user', 'api_key')),
    actor                  TEXT NOT NULL,
    input_tokens           INTEGER NOT NULL CHECK (input_tokens >= 0),
    output_tokens          INTEGER NOT NULL CHECK (output_tokens >= 0),
    cache_read_tokens      INTEGER NOT NULL CHECK (cache_read_tokens >= 0),
    cache_creation_tokens  INTEGER NOT NULL CHECK (cache_creation_tokens >= 0),
    cost_cents             TEXT NOT NULL,        -- exact decimal, cents
    fetched_at             TEXT NOT NULL,
    PRIMARY KEY (day, actor_type, actor)
) STRICT, WITHOUT ROWID;

-- Actors seen in the report, for discovery ([discovery] claude_code_users = "always"): the
-- account name is chosen once, unique among every account name, and never changed.
CREATE TABLE developer_actors (
    actor_type     TEXT NOT NULL CHECK (actor_type IN ('user', 'api_key')),
    actor          TEXT NOT NULL,
    account        TEXT NOT NULL UNIQUE,
    first_seen_at  TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    PRIMARY KEY (actor_type, actor)
) STRICT, WITHOUT ROWID;
