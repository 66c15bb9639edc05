-- How each read of a sync went (never blind): per read ('usage', 'cost', 'claude_code',
-- 'discovery', 'delivery:<channel>'), the last success and attempt, the current failure
-- streak (when it began, how many runs) and its last error line (never a secret).
CREATE TABLE read_health (
    read             TEXT PRIMARY KEY NOT NULL,
    last_success_at  TEXT,
    last_attempt_at  TEXT NOT NULL,
    failing_since    TEXT,
    failures         INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_error       TEXT,
    CHECK ((failing_since IS NULL) = (failures = 0))
) STRICT;
