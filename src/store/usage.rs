//! Daily usage rows: upserted per (api key, workspace, day), summed per billing period.

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, params};

use super::ts;
use crate::quota::DayUsage;

/// Stores each row, replacing what was stored for its (key, workspace, day): re-reading a
/// day is idempotent and late data corrects itself. Never adds deltas. A day whose numbers
/// did not change is not written again, so `fetched_at` is when its numbers last changed.
pub fn upsert(
    conn: &Connection,
    rows: &[DayUsage],
    source: &str,
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO usage_daily (api_key_id, workspace_id, day, uncached_input_tokens,
             cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens, output_tokens,
             requests, source, fetched_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (day, api_key_id, workspace_id) DO UPDATE SET
             uncached_input_tokens = excluded.uncached_input_tokens,
             cache_creation_5m_tokens = excluded.cache_creation_5m_tokens,
             cache_creation_1h_tokens = excluded.cache_creation_1h_tokens,
             cache_read_tokens = excluded.cache_read_tokens,
             output_tokens = excluded.output_tokens,
             requests = excluded.requests,
             source = excluded.source,
             fetched_at = excluded.fetched_at
         -- Re-reading a day that did not change writes nothing.
         WHERE (uncached_input_tokens, cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens,
                output_tokens, requests, source)
               IS NOT (excluded.uncached_input_tokens, excluded.cache_creation_5m_tokens, excluded.cache_creation_1h_tokens,
                       excluded.cache_read_tokens, excluded.output_tokens, excluded.requests, excluded.source)",
    )?;
    let now = ts(now);
    for r in rows {
        let day = r.day.format("%Y-%m-%d").to_string();
        stmt.execute(params![
            r.api_key_id.as_deref().unwrap_or(""),
            r.workspace_id.as_deref().unwrap_or(""),
            day,
            to_i64(r.uncached_input_tokens)?,
            to_i64(r.cache_creation_5m_tokens)?,
            to_i64(r.cache_creation_1h_tokens)?,
            to_i64(r.cache_read_tokens)?,
            to_i64(r.output_tokens)?,
            r.requests.map(to_i64).transpose()?,
            source,
            now,
        ])
        .with_context(|| format!("cannot store usage for {day}"))?;
    }
    Ok(rows.len())
}

fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).with_context(|| format!("count {v} does not fit a 64-bit signed integer"))
}

/// One stored day, borrowed from the row as it is read.
pub struct DayRef<'r> {
    pub api_key_id: &'r str,
    pub workspace_id: &'r str,
    pub day: &'r str,
    /// uncached input, cache creation 5m and 1h, cache read, output.
    pub counts: [u64; 5],
    pub requests: Option<u64>,
}

/// Calls `f` for every stored day in `[from, to)` without copying rows out: for folding
/// many rows into few sums.
pub fn scan(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
    mut f: impl FnMut(DayRef<'_>),
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT api_key_id, workspace_id, day, uncached_input_tokens, cache_creation_5m_tokens,
                cache_creation_1h_tokens, cache_read_tokens, output_tokens, requests
         FROM usage_daily WHERE day >= ?1 AND day < ?2",
    )?;
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let mut rows = stmt.query([day(from), day(to)])?;
    while let Some(r) = rows.next()? {
        let text = |i: usize| r.get_ref(i).and_then(|v| v.as_str().map_err(Into::into));
        let count = |i: usize| r.get::<_, i64>(i).map(|v| v as u64);
        f(DayRef {
            api_key_id: text(0)?,
            workspace_id: text(1)?,
            day: text(2)?,
            counts: [count(3)?, count(4)?, count(5)?, count(6)?, count(7)?],
            requests: r.get::<_, Option<i64>>(8)?.map(|v| v as u64),
        });
    }
    Ok(())
}

/// Deletes rows older than `before` (retention). Returns how many went.
pub fn prune(conn: &Connection, before: NaiveDate) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM usage_daily WHERE day < ?1")?
        .execute([before.format("%Y-%m-%d").to_string()])?)
}
