-- Burn-rate alerts (SPEC §4 burn_rate) read the growth of window totals between syncs.
-- burn_snapshots: a window instance's total of one quota, written when it changes; kept as
-- long as the longest lookback needs (and the latest older one, which holds until the next).
-- usage_reads: when usage was read, so that a gap in syncs is not read as a spike.
CREATE TABLE burn_snapshots (
    account       text COLLATE "C" NOT NULL,
    window_kind   text COLLATE "C" NOT NULL,
    window_start  timestamptz NOT NULL,
    quota_type    text COLLATE "C" NOT NULL,
    at            timestamptz NOT NULL,
    used          numeric NOT NULL,
    PRIMARY KEY (account, window_kind, quota_type, at)
);
CREATE TABLE usage_reads (
    at  timestamptz PRIMARY KEY
);
