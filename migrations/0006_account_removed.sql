-- A resolution for alerts whose account is no longer configured or discovered
-- ('account_removed', SPEC §4), and who resolved an alert by hand (`resolved_by`, for the
-- resolved notice; $SUDO_USER or $USER of `quota alerts resolve`). SQLite cannot change a CHECK constraint in place, so the
-- table is rebuilt the documented way (create, copy, drop, rename), with foreign keys off
-- for the migration and checked before it commits.
CREATE TABLE alerts_new (
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
    resolution     TEXT CHECK (resolution IN ('manual', 'superseded', 'recovered', 'period_ended', 'account_removed')),
    comment        TEXT,
    resolved_by    TEXT,
    CHECK ((resolved_at IS NULL) = (resolution IS NULL))
) STRICT;

INSERT INTO alerts_new (id, account, type, severity, message, current_value, limit_value,
    percentage, quota_type, threshold, period_start, period_end, created_at, resolved_at,
    resolution, comment)
SELECT id, account, type, severity, message, current_value, limit_value, percentage,
    quota_type, threshold, period_start, period_end, created_at, resolved_at, resolution,
    comment
FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;

CREATE UNIQUE INDEX alerts_identity ON alerts (account, quota_type, threshold, period_start);
CREATE INDEX alerts_open ON alerts (account) WHERE resolved_at IS NULL;
CREATE INDEX alerts_created ON alerts (created_at);
