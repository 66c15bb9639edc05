//! Daily usage rows: upserted per (api key, workspace, day), summed per billing period.

use std::collections::HashMap;

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, params};

use crate::quota::DayUsage;
use crate::time::{day, ts};

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
             total_tokens, requests, source, fetched_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (day, api_key_id, workspace_id) DO UPDATE SET
             uncached_input_tokens = excluded.uncached_input_tokens,
             cache_creation_5m_tokens = excluded.cache_creation_5m_tokens,
             cache_creation_1h_tokens = excluded.cache_creation_1h_tokens,
             cache_read_tokens = excluded.cache_read_tokens,
             output_tokens = excluded.output_tokens,
             total_tokens = excluded.total_tokens,
             requests = excluded.requests,
             source = excluded.source,
             fetched_at = excluded.fetched_at
         -- Re-reading a day that did not change writes nothing.
         WHERE (uncached_input_tokens, cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens,
                output_tokens, total_tokens, requests, source)
               IS NOT (excluded.uncached_input_tokens, excluded.cache_creation_5m_tokens, excluded.cache_creation_1h_tokens,
                       excluded.cache_read_tokens, excluded.output_tokens, excluded.total_tokens, excluded.requests,
                       excluded.source)",
    )?;
    let now = ts(now);
    let count = |v: Option<u64>| v.map(to_i64).transpose();
    for r in rows {
        let d = day(r.day);
        stmt.execute(params![
            r.api_key_id.as_deref().unwrap_or(""),
            r.workspace_id.as_deref().unwrap_or(""),
            d,
            count(r.uncached_input_tokens)?,
            count(r.cache_creation_5m_tokens)?,
            count(r.cache_creation_1h_tokens)?,
            count(r.cache_read_tokens)?,
            count(r.output_tokens)?,
            count(r.total_tokens)?,
            count(r.requests)?,
            source,
            now,
        ])
        .with_context(|| format!("cannot store usage for {d}"))?;
    }
    Ok(rows.len())
}

fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).with_context(|| format!("count {v} does not fit a 64-bit signed integer"))
}

/// Usage summed per (key, workspace) over the segments that `bounds` (ascending days) cut:
/// one row per segment that has usage, dated at the segment's start, covering
/// `[bounds[0], bounds[last])`. The caller picks bounds so that every range it sums starts and
/// ends on one, which makes the sums exact while their number does not grow with the days
/// stored. A segment's count is `None` when any of its days lacks it.
pub fn segment_sums(conn: &Connection, bounds: &[NaiveDate]) -> Result<Vec<DayUsage>> {
    let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
        return Ok(Vec::new());
    };
    let bound_text: Vec<String> = bounds.iter().map(|d| day(*d)).collect();
    // Ids are interned: a string is allocated per distinct key, not per row.
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut intern = |s: &str| -> usize {
        if let Some(&i) = ids.get(s) {
            return i;
        }
        names.push(s.to_string());
        ids.insert(s.to_string(), names.len() - 1);
        names.len() - 1
    };
    let mut sums: HashMap<(usize, usize, usize), DayUsage> = HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT api_key_id, workspace_id, day, uncached_input_tokens, cache_creation_5m_tokens,
                cache_creation_1h_tokens, cache_read_tokens, output_tokens, total_tokens, requests
         FROM usage_daily WHERE day >= ?1 AND day < ?2",
    )?;
    let mut rows = stmt.query([day(*first), day(*last)])?;
    while let Some(r) = rows.next()? {
        let text = |i: usize| r.get_ref(i).and_then(|v| v.as_str().map_err(Into::into));
        let d = text(2)?;
        // The segment is the last bound not after the row's day.
        let seg = bound_text.partition_point(|b| b.as_str() <= d) - 1;
        let key = (intern(text(0)?), intern(text(1)?), seg);
        let row = DayUsage {
            day: bounds[seg],
            uncached_input_tokens: r.get(3)?,
            cache_creation_5m_tokens: r.get(4)?,
            cache_creation_1h_tokens: r.get(5)?,
            cache_read_tokens: r.get(6)?,
            output_tokens: r.get(7)?,
            total_tokens: r.get(8)?,
            requests: r.get(9)?,
            ..DayUsage::default()
        };
        sums.entry(key)
            .and_modify(|s| s.absorb(&row))
            .or_insert(row);
    }
    let id = |i: usize| Some(names[i].clone()).filter(|s| !s.is_empty());
    Ok(sums
        .into_iter()
        .map(|((k, w, _), d)| DayUsage {
            api_key_id: id(k),
            workspace_id: id(w),
            ..d
        })
        .collect())
}

/// Deletes rows older than `before` (retention). Returns how many went.
pub fn prune(conn: &Connection, before: NaiveDate) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM usage_daily WHERE day < ?1")?
        .execute([day(before)])?)
}
