-- Cost per API key (the analytics source, grouped by api_key_id): cost_daily gains the key,
-- '' where the report was not grouped by key (the workspace's cost). The primary key
-- changes, so the table is rebuilt the documented way.
CREATE TABLE cost_daily_new (
    api_key_id    TEXT NOT NULL DEFAULT '',  -- '' is the workspace's cost, not per key
    workspace_id  TEXT NOT NULL,             -- '' is the Default Workspace
    day           TEXT NOT NULL,
    amount_cents  TEXT NOT NULL,
    fetched_at    TEXT NOT NULL,
    PRIMARY KEY (workspace_id, api_key_id, day)
) STRICT, WITHOUT ROWID;
INSERT INTO cost_daily_new (api_key_id, workspace_id, day, amount_cents, fetched_at)
    SELECT '', workspace_id, day, amount_cents, fetched_at FROM cost_daily;
DROP TABLE cost_daily;
ALTER TABLE cost_daily_new RENAME TO cost_daily;
