-- Limits per UTC day and ISO week beside the billing period (SPEC §2 "Windows"): an alert
-- names its window, which joins its identity, and a day's or week's alerts resolve as
-- 'rollover' when it ends. SQLite cannot change a CHECK constraint in place, so the table
-- is rebuilt the documented way, as in 0006.
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
    resolution     TEXT CHECK (resolution IN ('manual', 'superseded', 'recovered', 'period_ended', 'rollover', 'account_removed')),
    comment        TEXT,
    resolved_by    TEXT,
    window_kind    TEXT NOT NULL DEFAULT 'period' CHECK (window_kind IN ('period', 'day', 'week')),
    CHECK ((resolved_at IS NULL) = (resolution IS NULL))
) STRICT;

INSERT INTO alerts_new (id, account, type, severity, message, current_value, limit_value,
    percentage, quota_type, threshold, period_start, period_end, created_at, resolved_at,
    resolution, comment, resolved_by)
SELECT id, account, type, severity, message, current_value, limit_value, percentage,
    quota_type, threshold, period_start, period_end, created_at, resolved_at, resolution,
    comment, resolved_by
FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;

CREATE UNIQUE INDEX alerts_identity ON alerts (account, quota_type, window_kind, threshold, period_start);
CREATE INDEX alerts_open ON alerts (account) WHERE resolved_at IS NULL;
CREATE INDEX alerts_created ON alerts (created_at);
