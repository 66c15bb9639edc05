-- Indexes for the questions every sync asks of the account table, so that an incremental
-- pass does not scan 100,000 accounts to find the few that answer:
-- which accounts' recheck moment has come (few have one), and which were never marked synced
-- (none, in a steady state). Partial: they hold only those rows.
CREATE INDEX accounts_recheck ON accounts (recheck_at) WHERE recheck_at IS NOT NULL;
CREATE INDEX accounts_never_synced ON accounts (name) WHERE last_synced_at IS NULL;
