-- Limits per UTC day and ISO week beside the billing period (SPEC §2 "Windows"): an alert
-- names its window, which joins its identity, and a day's or week's alerts resolve as
-- 'rollover' when it ends.
ALTER TABLE alerts ADD COLUMN window_kind text COLLATE "C" NOT NULL DEFAULT 'period'
    CHECK (window_kind IN ('period', 'day', 'week'));
ALTER TABLE alerts DROP CONSTRAINT alerts_resolution_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_resolution_check CHECK (resolution IN
    ('manual', 'superseded', 'recovered', 'period_ended', 'rollover', 'account_removed'));
DROP INDEX alerts_identity;
CREATE UNIQUE INDEX alerts_identity ON alerts (account, quota_type, window_kind, threshold, period_start);
