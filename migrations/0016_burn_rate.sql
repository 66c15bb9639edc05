-- Burn-rate alerts (SPEC §4 burn_rate) read the growth of window totals between syncs.
-- burn_series: one row per account, window and quota: the instance's totals as they changed
-- ("unix seconds:total;…", ascending), thinned with age and kept as long as the longest
-- lookback needs (burn::thin). One row, not one a minute: a busy key reads and writes one
-- row a sync. usage_reads: when usage was read, so that a gap in syncs is not a spike.
CREATE TABLE burn_series (
    account       TEXT NOT NULL,
    window_kind   TEXT NOT NULL,
    quota_type    TEXT NOT NULL,
    window_start  TEXT NOT NULL,
    series        TEXT NOT NULL,
    PRIMARY KEY (account, window_kind, quota_type)
) STRICT, WITHOUT ROWID;
CREATE TABLE usage_reads (
    at  TEXT PRIMARY KEY NOT NULL
) STRICT, WITHOUT ROWID;
