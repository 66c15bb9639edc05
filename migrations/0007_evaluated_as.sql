-- What each account was last evaluated as: an opaque fingerprint of its limits, thresholds,
-- billing day, forecast switch and selector, written by the evaluation that used them. NULL
-- until the account is first evaluated. An account whose fingerprint differs from what the
-- config now gives is evaluated again even when its usage did not change (incremental
-- evaluation, SPEC §4 / README "Incremental evaluation").
ALTER TABLE accounts ADD COLUMN fingerprint INTEGER;
