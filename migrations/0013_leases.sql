-- Hosts that share one store (PostgreSQL; SQLite keeps the same schema so that both
-- stores hold the same tables and `db copy` moves them whole).
-- leases: who reads the Admin API for a minute. `slot` is the minute taken; `token`
-- grows with every grant (a fencing token): a run records its read only while the lease
-- still has its token, so a run that paused past its minute cannot overwrite a newer read.
CREATE TABLE leases (
    name    TEXT PRIMARY KEY NOT NULL,
    holder  TEXT NOT NULL,
    token   INTEGER NOT NULL CHECK (token > 0),
    slot    TEXT NOT NULL
) STRICT;
-- Outbox claims: the run that sends a delivery claims it first, until claimed_until; a
-- run checks its claim again just before sending, so a run that paused or lost its
-- connection sends nothing another has taken over.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;
