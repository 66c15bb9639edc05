-- A source may leave a count out (the analytics API: "treat every count as possibly absent").
-- An absent count is stored as NULL, never as a guessed 0: a period sum that needs it is
-- "not measured". total_tokens is the source's own total, what `tokens` falls back to when
-- the input/output split is missing.
CREATE TABLE usage_daily_nullable (
    day                       TEXT NOT NULL,
    api_key_id                TEXT NOT NULL,
    workspace_id              TEXT NOT NULL,
    uncached_input_tokens     INTEGER CHECK (uncached_input_tokens >= 0),
    cache_creation_5m_tokens  INTEGER CHECK (cache_creation_5m_tokens >= 0),
    cache_creation_1h_tokens  INTEGER CHECK (cache_creation_1h_tokens >= 0),
    cache_read_tokens         INTEGER CHECK (cache_read_tokens >= 0),
    output_tokens             INTEGER CHECK (output_tokens >= 0),
    total_tokens              INTEGER CHECK (total_tokens >= 0),
    requests                  INTEGER CHECK (requests >= 0),
    source                    TEXT NOT NULL,
    fetched_at                TEXT NOT NULL,
    PRIMARY KEY (day, api_key_id, workspace_id)
) STRICT, WITHOUT ROWID;

INSERT INTO usage_daily_nullable (day, api_key_id, workspace_id, uncached_input_tokens,
    cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens, output_tokens,
    total_tokens, requests, source, fetched_at)
SELECT day, api_key_id, workspace_id, uncached_input_tokens, cache_creation_5m_tokens,
    cache_creation_1h_tokens, cache_read_tokens, output_tokens, NULL, requests, source, fetched_at
FROM usage_daily;

DROP TABLE usage_daily;
ALTER TABLE usage_daily_nullable RENAME TO usage_daily;
