//! Usage per model: the rows of reads grouped by model (while an account is scoped to
//! models, `model = "claude-opus-4*"`), beside `usage_daily`'s totals. A read replaces the
//! days it covered: only the rows that differ are written.

use std::collections::HashMap;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};

use crate::quota::DayUsage;
use crate::store::Tx;
use crate::store::sql::{Row, Val, vals};

const COUNTS: &str = "uncached_input_tokens, cache_creation_5m_tokens, cache_creation_1h_tokens, \
     cache_read_tokens, output_tokens, total_tokens, requests";

type Key = (String, String, String, NaiveDate);
type Counts = [Option<i64>; 7];

fn key(model: &str, r: &DayUsage) -> Key {
    (
        r.api_key_id.clone().unwrap_or_default(),
        r.workspace_id.clone().unwrap_or_default(),
        model.to_string(),
        r.day,
    )
}

/// The days `[from, to)` (to the end when `to` is `None`), of `keys` only when some are
/// given, become `rows`. Returns the (key, workspace) pairs whose rows changed (`""` for
/// none), for incremental evaluation.
pub(crate) fn replace(
    tx: &Tx<'_>,
    (from, to): (NaiveDate, Option<NaiveDate>),
    keys: &[&str],
    rows: &[(String, DayUsage)],
    now: DateTime<Utc>,
) -> Result<Vec<(String, String)>> {
    // The end of the read, else a day no read reaches (as text, it still sorts last).
    let to = to.unwrap_or(NaiveDate::from_ymd_opt(9999, 12, 31).expect("a valid day"));
    let mut sql = format!(
        "SELECT api_key_id, workspace_id, model, day, {COUNTS} FROM usage_models WHERE day >= ?1 AND day < ?2"
    );
    let mut args = vals![from, to].to_vec();
    if !keys.is_empty() {
        sql.push_str(&format!(" AND {}", tx.in_list("api_key_id", 3)));
        args.push(Val::Texts(keys.iter().map(|k| (*k).to_string()).collect()));
    }
    let mut old: HashMap<Key, Counts> = HashMap::new();
    tx.each(&sql, &args, |r| {
        let key = (r.text(0)?, r.text(1)?, r.text(2)?, r.day(3)?);
        old.insert(key, read(&r, 4)?);
        Ok(())
    })?;
    let mut changed: Vec<(String, String)> = Vec::new();
    for (model, row) in rows {
        let (k, c) = (key(model, row), super::stored_counts(row)?);
        if old.remove(&k).as_ref() == Some(&c) {
            continue;
        }
        tx.exec(
            &format!(
                "INSERT INTO usage_models (api_key_id, workspace_id, model, day, {COUNTS}, fetched_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT (api_key_id, workspace_id, model, day) DO UPDATE SET
                 uncached_input_tokens = excluded.uncached_input_tokens,
                 cache_creation_5m_tokens = excluded.cache_creation_5m_tokens,
                 cache_creation_1h_tokens = excluded.cache_creation_1h_tokens,
                 cache_read_tokens = excluded.cache_read_tokens,
                 output_tokens = excluded.output_tokens, total_tokens = excluded.total_tokens,
                 requests = excluded.requests, fetched_at = excluded.fetched_at"
            ),
            &[
                Val::from(k.0.as_str()),
                Val::from(k.1.as_str()),
                Val::from(k.2.as_str()),
                Val::from(k.3),
                Val::Int(c[0]),
                Val::Int(c[1]),
                Val::Int(c[2]),
                Val::Int(c[3]),
                Val::Int(c[4]),
                Val::Int(c[5]),
                Val::Int(c[6]),
                Val::from(now),
            ],
        )?;
        changed.push((k.0, k.1));
    }
    // What the read no longer has.
    for (k, _) in old {
        tx.exec(
            "DELETE FROM usage_models WHERE api_key_id = ?1 AND workspace_id = ?2 AND model = ?3 AND day = ?4",
            &vals![k.0.as_str(), k.1.as_str(), k.2.as_str(), k.3],
        )?;
        changed.push((k.0, k.1));
    }
    changed.sort();
    changed.dedup();
    Ok(changed)
}

fn read(r: &Row<'_>, first: usize) -> Result<Counts> {
    let mut c: Counts = [None; 7];
    for (i, v) in c.iter_mut().enumerate() {
        *v = r.opt_int(first + i)?;
    }
    Ok(c)
}

/// The rows from `first` on whose model `wanted` says are needed: `(model, row)`. (Only
/// those are held: a fleet's other models stay in the database.)
pub(crate) fn since(
    tx: &Tx<'_>,
    first: NaiveDate,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Vec<(String, DayUsage)>> {
    let mut out = Vec::new();
    tx.each(
        &format!(
            "SELECT api_key_id, workspace_id, model, day, {COUNTS} FROM usage_models WHERE day >= ?1"
        ),
        &vals![first],
        |r| {
            if !wanted(&r.text(2)?) {
                return Ok(());
            }
            let id = |s: String| (!s.is_empty()).then_some(s);
            let at = (id(r.text(0)?), id(r.text(1)?), r.day(3)?);
            out.push((r.text(2)?, super::stored_usage(&r, 4, at)?));
            Ok(())
        },
    )?;
    Ok(out)
}

/// Removes the days before `before`.
pub(crate) fn prune(tx: &Tx<'_>, before: NaiveDate) -> Result<usize> {
    tx.exec("DELETE FROM usage_models WHERE day < ?1", &vals![before])
}
