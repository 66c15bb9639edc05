-- Burn-rate alerts (SPEC §4 burn_rate) read the growth of window totals between syncs.
-- burn_snapshots: a window instance's total of one quota, written when it changes; kept as
-- long as the longest lookback needs (and the latest older one, which holds until the next).
-- usage_reads: when usage was read, so that a gap in syncs is not read as a spike.
CREATE TABLE burn_snapshots (
    account       TEXT NOT NULL,
    window_kind   TEXT NOT NULL,
    window_start  TEXT NOT NULL,
    quota_type    TEXT NOT NULL,
    at            TEXT NOT NULL,
    used          TEXT NOT NULL,
    PRIMARY KEY (account, window_kind, quota_type, at)
) STRICT, WITHOUT ROWID;
CREATE TABLE usage_reads (
    at  TEXT PRIMARY KEY NOT NULL
) STRICT, WITHOUT ROWID;
