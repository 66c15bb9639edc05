-- The PostgreSQL store's schema: the SQLite schema as of its migration 0014, in
-- PostgreSQL's own types (times as timestamptz, days as date, money as exact numeric).
-- Names and ids sort bytewise (COLLATE "C"), as SQLite sorts them, whatever the database's
-- collation. Null API ids are stored as '' so identities stay NOT NULL, as in SQLite.

CREATE TABLE accounts (
    name            text COLLATE "C" PRIMARY KEY,
    selector        text NOT NULL,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'exhausted')),
    status_since    timestamptz,
    last_synced_at  timestamptz,
    created_at      timestamptz NOT NULL,
    fingerprint     bigint,
    recheck_at      timestamptz
);
CREATE INDEX accounts_recheck ON accounts (recheck_at) WHERE recheck_at IS NOT NULL;
CREATE INDEX accounts_never_synced ON accounts (name) WHERE last_synced_at IS NULL;

-- Health alerts (sync_failing) belong to quota itself: the account ''.
INSERT INTO accounts (name, selector, created_at)
VALUES ('', 'quota itself (health alerts)', '1970-01-01T00:00:00Z');

CREATE TABLE sync_state (
    key    text PRIMARY KEY,
    value  text NOT NULL
);

CREATE TABLE api_keys (
    id             text COLLATE "C" PRIMARY KEY,
    name           text NOT NULL,
    account        text COLLATE "C" NOT NULL UNIQUE,
    workspace_id   text COLLATE "C" NOT NULL,
    active         boolean NOT NULL,
    first_seen_at  timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL
);

CREATE TABLE cost_daily (
    api_key_id    text COLLATE "C" NOT NULL DEFAULT '',  -- '' is the workspace's cost
    workspace_id  text COLLATE "C" NOT NULL,
    day           date NOT NULL,
    amount_cents  numeric NOT NULL,
    fetched_at    timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, api_key_id, day)
);

CREATE TABLE usage_daily (
    day                       date NOT NULL,
    api_key_id                text COLLATE "C" NOT NULL,
    workspace_id              text COLLATE "C" NOT NULL,
    uncached_input_tokens     bigint CHECK (uncached_input_tokens >= 0),
    cache_creation_5m_tokens  bigint CHECK (cache_creation_5m_tokens >= 0),
    cache_creation_1h_tokens  bigint CHECK (cache_creation_1h_tokens >= 0),
    cache_read_tokens         bigint CHECK (cache_read_tokens >= 0),
    output_tokens             bigint CHECK (output_tokens >= 0),
    total_tokens              bigint CHECK (total_tokens >= 0),
    requests                  bigint CHECK (requests >= 0),
    source                    text NOT NULL,
    fetched_at                timestamptz NOT NULL,
    PRIMARY KEY (day, api_key_id, workspace_id)
);

CREATE TABLE developer_daily (
    day                    date NOT NULL,
    actor_type             text NOT NULL CHECK (actor_type IN ('user', 'api_key')),
    actor                  text COLLATE "C" NOT NULL,
    input_tokens           bigint NOT NULL CHECK (input_tokens >= 0),
    output_tokens          bigint NOT NULL CHECK (output_tokens >= 0),
    cache_read_tokens      bigint NOT NULL CHECK (cache_read_tokens >= 0),
    cache_creation_tokens  bigint NOT NULL CHECK (cache_creation_tokens >= 0),
    cost_cents             numeric NOT NULL,
    fetched_at             timestamptz NOT NULL,
    PRIMARY KEY (day, actor_type, actor)
);

CREATE TABLE developer_actors (
    actor_type     text NOT NULL CHECK (actor_type IN ('user', 'api_key')),
    actor          text COLLATE "C" NOT NULL,
    account        text COLLATE "C" NOT NULL UNIQUE,
    first_seen_at  timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    PRIMARY KEY (actor_type, actor)
);

CREATE TABLE alerts (
    id             text COLLATE "C" PRIMARY KEY,
    account        text COLLATE "C" NOT NULL REFERENCES accounts (name),
    type           text NOT NULL,
    severity       text NOT NULL CHECK (severity IN ('warning', 'critical')),
    message        text NOT NULL,
    current_value  numeric NOT NULL,
    limit_value    numeric NOT NULL,
    percentage     double precision NOT NULL,
    quota_type     text COLLATE "C" NOT NULL,
    threshold      bigint NOT NULL,
    period_start   timestamptz NOT NULL,
    period_end     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    resolved_at    timestamptz,
    resolution     text CHECK (resolution IN ('manual', 'superseded', 'recovered', 'period_ended', 'account_removed')),
    comment        text,
    resolved_by    text,
    CHECK ((resolved_at IS NULL) = (resolution IS NULL))
);
CREATE UNIQUE INDEX alerts_identity ON alerts (account, quota_type, threshold, period_start);
CREATE INDEX alerts_open ON alerts (account) WHERE resolved_at IS NULL;
CREATE INDEX alerts_created ON alerts (created_at);

CREATE TABLE read_health (
    read             text PRIMARY KEY,
    last_success_at  timestamptz,
    last_attempt_at  timestamptz NOT NULL,
    failing_since    timestamptz,
    failures         bigint NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_error       text,
    CHECK ((failing_since IS NULL) = (failures = 0))
);

CREATE TABLE silences (
    id          text COLLATE "C" PRIMARY KEY,
    alert_id    text COLLATE "C" REFERENCES alerts (id),
    accounts    text,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    ended_at    timestamptz,
    comment     text,
    created_by  text,
    CHECK ((alert_id IS NULL) <> (accounts IS NULL))
);
CREATE INDEX silences_ends ON silences (ends_at);

CREATE TABLE outbox (
    id               bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    alert_id         text COLLATE "C" NOT NULL REFERENCES alerts (id),
    channel          text NOT NULL,
    event            text NOT NULL CHECK (event IN ('firing', 'resolved')),
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed', 'dropped')),
    attempts         bigint NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    last_error       text,
    created_at       timestamptz NOT NULL,
    delivered_at     timestamptz,
    -- The run that sends it claims it first, until claimed_until (see leases).
    claimed_by       text,
    claimed_until    timestamptz
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE state = 'pending';

-- Who reads the Admin API for a minute: `slot` is the minute taken, `token` grows with
-- every grant (a fencing token checked when the read is recorded).
CREATE TABLE leases (
    name    text PRIMARY KEY,
    holder  text NOT NULL,
    token   bigint NOT NULL CHECK (token > 0),
    slot    timestamptz NOT NULL
);
