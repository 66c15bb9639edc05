-- Usage per model (SPEC §2 "Model scope"): the rows of reads grouped by model, kept while an
-- account is scoped to models, beside usage_daily's totals. '' is a null key or workspace.
CREATE TABLE usage_models (
    api_key_id                text COLLATE "C" NOT NULL DEFAULT '',
    workspace_id              text COLLATE "C" NOT NULL DEFAULT '',
    model                     text COLLATE "C" NOT NULL,
    day                       date NOT NULL,
    uncached_input_tokens     bigint CHECK (uncached_input_tokens >= 0),
    cache_creation_5m_tokens  bigint CHECK (cache_creation_5m_tokens >= 0),
    cache_creation_1h_tokens  bigint CHECK (cache_creation_1h_tokens >= 0),
    cache_read_tokens         bigint CHECK (cache_read_tokens >= 0),
    output_tokens             bigint CHECK (output_tokens >= 0),
    total_tokens              bigint CHECK (total_tokens >= 0),
    requests                  bigint CHECK (requests >= 0),
    fetched_at                timestamptz NOT NULL,
    PRIMARY KEY (api_key_id, workspace_id, model, day)
);
CREATE INDEX usage_models_day ON usage_models (day);
-- Cost per model (the analytics cost endpoint grouped by model), for model-scoped accounts
-- with a cost limit; '' as in cost_daily.
CREATE TABLE cost_models (
    api_key_id    text COLLATE "C" NOT NULL DEFAULT '',
    workspace_id  text COLLATE "C" NOT NULL,
    model         text COLLATE "C" NOT NULL,
    day           date NOT NULL,
    amount_cents  numeric NOT NULL,
    fetched_at    timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, api_key_id, model, day)
);
-- Claude Code usage per developer and model (the report's model_breakdown), for developer
-- accounts scoped to models; replaced a day at a time as developer_daily is.
CREATE TABLE developer_models (
    day                    date NOT NULL,
    actor_type             text NOT NULL CHECK (actor_type IN ('user', 'api_key')),
    actor                  text COLLATE "C" NOT NULL,
    model                  text COLLATE "C" NOT NULL,
    input_tokens           bigint NOT NULL CHECK (input_tokens >= 0),
    output_tokens          bigint NOT NULL CHECK (output_tokens >= 0),
    cache_read_tokens      bigint NOT NULL CHECK (cache_read_tokens >= 0),
    cache_creation_tokens  bigint NOT NULL CHECK (cache_creation_tokens >= 0),
    cost_cents             numeric NOT NULL,
    fetched_at             timestamptz NOT NULL,
    PRIMARY KEY (day, actor_type, actor, model)
);
