-- When passing time alone could next change an account's decision: the moment the projection
-- behind an open forecast alert falls below the recovery level (README "Incremental
-- evaluation"). NULL: nothing pending between the triggers that every sync checks anyway.
-- Written by the evaluation that computed it; an incremental pass evaluates the accounts
-- whose moment has come instead of every account with an open forecast alert.
ALTER TABLE accounts ADD COLUMN recheck_at TEXT;
-- No account has a moment yet: the next evaluation is a full pass, which sets them.
DELETE FROM sync_state WHERE key = 'full_pass_at';
