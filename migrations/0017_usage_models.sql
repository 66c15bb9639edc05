-- Usage per model (SPEC §2 "Model scope"): the rows of reads grouped by model, kept while an
-- account is scoped to models, beside usage_daily's totals. '' is a null key or workspace.
CREATE TABLE usage_models (
    api_key_id                TEXT NOT NULL DEFAULT '',
    workspace_id              TEXT NOT NULL DEFAULT '',
    model                     TEXT NOT NULL,
    day                       TEXT NOT NULL,
    uncached_input_tokens     INTEGER CHECK (uncached_input_tokens >= 0),
    cache_creation_5m_tokens  INTEGER CHECK (cache_creation_5m_tokens >= 0),
    cache_creation_1h_tokens  INTEGER CHECK (cache_creation_1h_tokens >= 0),
    cache_read_tokens         INTEGER CHECK (cache_read_tokens >= 0),
    output_tokens             INTEGER CHECK (output_tokens >= 0),
    total_tokens              INTEGER CHECK (total_tokens >= 0),
    requests                  INTEGER CHECK (requests >= 0),
    fetched_at                TEXT NOT NULL,
    PRIMARY KEY (api_key_id, workspace_id, model, day)
) STRICT, WITHOUT ROWID;
CREATE INDEX usage_models_day ON usage_models (day);
-- Cost per model (the analytics cost endpoint grouped by model), for model-scoped accounts
-- with a cost limit; '' as in cost_daily.
CREATE TABLE cost_models (
    api_key_id    TEXT NOT NULL DEFAULT '',
    workspace_id  TEXT NOT NULL,
    model         TEXT NOT NULL,
    day           TEXT NOT NULL,
    amount_cents  TEXT NOT NULL,
    fetched_at    TEXT NOT NULL,
    PRIMARY KEY (workspace_id, api_key_id, model, day)
) STRICT, WITHOUT ROWID;
-- Claude Code usage per developer and model (the report's model_breakdown), for developer
-- accounts scoped to models; replaced a day at a time as developer_daily is.
CREATE TABLE developer_models (
    day                    TEXT NOT NULL,
    actor_type             TEXT NOT NULL CHECK (actor_type IN ('user', 'api_key')),
    actor                  TEXT NOT NULL,
    model                  TEXT NOT NULL,
    input_tokens           INTEGER NOT NULL CHECK (input_tokens >= 0),
    output_tokens          INTEGER NOT NULL CHECK (output_tokens >= 0),
    cache_read_tokens      INTEGER NOT NULL CHECK (cache_read_tokens >= 0),
    cache_creation_tokens  INTEGER NOT NULL CHECK (cache_creation_tokens >= 0),
    cost_cents             TEXT NOT NULL,
    fetched_at             TEXT NOT NULL,
    PRIMARY KEY (day, actor_type, actor, model)
) STRICT, WITHOUT ROWID;
