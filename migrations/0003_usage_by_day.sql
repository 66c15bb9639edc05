-- Usage is always read by day range (evaluation, status, retention) and never by key alone:
-- cluster it by day first, so reading a period is one sequential walk instead of an index
-- lookup per row (10,000 keys on day 20 of a period: ~6,500 → a few hundred instructions a row).
CREATE TABLE usage_daily_by_day (
    day                       TEXT NOT NULL,
    api_key_id                TEXT NOT NULL,
    workspace_id              TEXT NOT NULL,
    uncached_input_tokens     INTEGER NOT NULL CHECK (uncached_input_tokens >= 0),
    cache_creation_5m_tokens  INTEGER NOT NULL CHECK (cache_creation_5m_tokens >= 0),
    cache_creation_1h_tokens  INTEGER NOT NULL CHECK (cache_creation_1h_tokens >= 0),
    cache_read_tokens         INTEGER NOT NULL CHECK (cache_read_tokens >= 0),
    output_tokens             INTEGER NOT NULL CHECK (output_tokens >= 0),
    requests                  INTEGER CHECK (requests >= 0),
    source                    TEXT NOT NULL,
    fetched_at                TEXT NOT NULL,
    PRIMARY KEY (day, api_key_id, workspace_id)
) STRICT, WITHOUT ROWID;

INSERT INTO usage_daily_by_day (day, api_key_id, workspace_id, uncached_input_tokens,
    cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens, output_tokens,
    requests, source, fetched_at)
SELECT day, api_key_id, workspace_id, uncached_input_tokens, cache_creation_5m_tokens,
    cache_creation_1h_tokens, cache_read_tokens, output_tokens, requests, source, fetched_at
FROM usage_daily;

DROP TABLE usage_daily;
ALTER TABLE usage_daily_by_day RENAME TO usage_daily;
