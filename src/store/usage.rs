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
         ON CONFLICT (api_key_id, workspace_id, day) DO UPDATE SET
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

/// Every stored row from `first_day` on (inclusive).
pub fn since(conn: &Connection, first_day: NaiveDate) -> Result<Vec<DayUsage>> {
    let mut stmt = conn.prepare_cached(
        "SELECT api_key_id, workspace_id, day, uncached_input_tokens, cache_creation_5m_tokens,
                cache_creation_1h_tokens, cache_read_tokens, output_tokens, requests
         FROM usage_daily WHERE day >= ?1",
    )?;
    let rows = stmt.query_map([first_day.format("%Y-%m-%d").to_string()], |r| {
        let id = |s: String| if s.is_empty() { None } else { Some(s) };
        let day: String = r.get(2)?;
        Ok(DayUsage {
            api_key_id: id(r.get(0)?),
            workspace_id: id(r.get(1)?),
            day: NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    2,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?,
            uncached_input_tokens: r.get::<_, i64>(3)? as u64,
            cache_creation_5m_tokens: r.get::<_, i64>(4)? as u64,
            cache_creation_1h_tokens: r.get::<_, i64>(5)? as u64,
            cache_read_tokens: r.get::<_, i64>(6)? as u64,
            output_tokens: r.get::<_, i64>(7)? as u64,
            requests: r.get::<_, Option<i64>>(8)?.map(|v| v as u64),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Deletes rows older than `before` (retention). Returns how many went.
pub fn prune(conn: &Connection, before: NaiveDate) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM usage_daily WHERE day < ?1")?
        .execute([before.format("%Y-%m-%d").to_string()])?)
}
