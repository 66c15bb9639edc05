-- Silences: "I know, hold the notifications of this for two hours". A silence names one
-- alert, or the accounts that globs select (which never hides quota's own health alerts);
-- it ends by itself at ends_at, or early (ended_at, `alerts unsilence`). Deliveries of a
-- silenced alert wait in the outbox until the silence ends; a firing notice whose alert
-- resolved meanwhile, and the resolved notice of a firing never sent, are then 'dropped'
-- (a new outbox state, so the table is rebuilt the documented way).
CREATE TABLE silences (
    id          TEXT PRIMARY KEY NOT NULL,
    alert_id    TEXT REFERENCES alerts (id),
    accounts    TEXT,                -- a JSON array of names or globs
    starts_at   TEXT NOT NULL,
    ends_at     TEXT NOT NULL,
    ended_at    TEXT,
    comment     TEXT,
    created_by  TEXT,
    CHECK ((alert_id IS NULL) <> (accounts IS NULL))
) STRICT;
CREATE INDEX silences_ends ON silences (ends_at);

CREATE TABLE outbox_new (
    id               INTEGER PRIMARY KEY,
    alert_id         TEXT NOT NULL REFERENCES alerts (id),
    channel          TEXT NOT NULL,
    event            TEXT NOT NULL CHECK (event IN ('firing', 'resolved')),
    state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed', 'dropped')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    delivered_at     TEXT
) STRICT;
INSERT INTO outbox_new SELECT id, alert_id, channel, event, state, attempts, next_attempt_at,
    last_error, created_at, delivered_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE state = 'pending';
