-- Burn-rate alerts (SPEC §4 burn_rate) read the growth of window totals between syncs.
-- burn_series: one row per account, window and quota: the instance's totals as they changed
-- ("unix seconds:total;…", ascending), thinned with age and kept as long as the longest
-- lookback needs (burn::thin). usage_reads: when usage was read, so that a gap in syncs is
-- not a spike.
CREATE TABLE burn_series (
    account       text COLLATE "C" NOT NULL,
    window_kind   text COLLATE "C" NOT NULL,
    quota_type    text COLLATE "C" NOT NULL,
    window_start  timestamptz NOT NULL,
    series        text NOT NULL,
    PRIMARY KEY (account, window_kind, quota_type)
);
CREATE TABLE usage_reads (
    at  timestamptz PRIMARY KEY
);
