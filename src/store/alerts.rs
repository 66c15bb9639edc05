//! Alert rows: what reconciliation reads, inserting, reopening and resolving one, listing.

use super::Tx;
use std::collections::HashMap;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::{Row, params};

use super::parse_ts;
use crate::alert::{Alert, AlertType, Firing, Resolution, Severity};
use crate::quota::QuotaType;
use crate::time::ts;

pub(crate) const COLUMNS: &str = "id, account, type, severity, message, current_value, limit_value, percentage, \
     quota_type, threshold, period_start, period_end, created_at, resolved_at, resolution, comment, \
     resolved_by";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Alert> {
    from_row_at(r, 0)
}

/// An alert whose columns start at index `o` of the row (after a join's own columns).
pub(super) fn from_row_at(r: &Row<'_>, o: usize) -> rusqlite::Result<Alert> {
    let bad = |i: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            o + i,
            rusqlite::types::Type::Text,
            format!("unknown {what}").into(),
        )
    };
    let text = |i: usize| r.get::<_, String>(o + i);
    let decimal = |i: usize| -> rusqlite::Result<rust_decimal::Decimal> {
        text(i)?.parse().map_err(|_| bad(i, "decimal"))
    };
    let alert_type = AlertType::parse(&text(2)?).ok_or_else(|| bad(2, "alert type"))?;
    // A health alert keeps its read where a quota alert keeps its quota type.
    let (quota_type, read) = if alert_type.is_health() {
        (None, Some(text(8)?))
    } else {
        let q = QuotaType::parse(&text(8)?).ok_or_else(|| bad(8, "quota type"))?;
        (Some(q), None)
    };
    Ok(Alert {
        id: text(0)?,
        account: text(1)?,
        alert_type,
        severity: Severity::parse(&text(3)?).ok_or_else(|| bad(3, "severity"))?,
        message: text(4)?,
        current_value: decimal(5)?,
        limit_value: decimal(6)?,
        percentage: r.get(o + 7)?,
        quota_type,
        read,
        threshold: r.get(o + 9)?,
        period_start: parse_ts(&text(10)?)?,
        period_end: parse_ts(&text(11)?)?,
        created_at: parse_ts(&text(12)?)?,
        resolved_at: r
            .get::<_, Option<String>>(o + 13)?
            .as_deref()
            .map(parse_ts)
            .transpose()?,
        resolution: match r.get::<_, Option<String>>(o + 14)? {
            Some(s) => Some(Resolution::parse(&s).ok_or_else(|| bad(14, "resolution"))?),
            None => None,
        },
        comment: r.get(o + 15)?,
        resolved_by: r.get(o + 16)?,
    })
}

/// `for_reconcile`'s query, of some accounts (`?2`, a JSON array) or of all. Two
/// statements, not one with `?2 IS NULL OR account IN …`: that form keeps SQLite off the
/// index on `account`, and a chunk of accounts would scan every alert.
pub(super) fn reconcile_sql(of_some: bool) -> String {
    let relevant = "(resolved_at IS NULL OR period_start >= ?1)";
    if of_some {
        format!(
            "SELECT {COLUMNS} FROM alerts WHERE {relevant}
             AND account IN (SELECT value FROM json_each(?2))"
        )
    } else {
        format!("SELECT {COLUMNS} FROM alerts WHERE {relevant}")
    }
}

/// What reconciliation needs, grouped by account: every open alert, and every alert of a
/// period starting at or after `earliest_period_start`; of the `only` accounts, or of all.
pub(crate) fn for_reconcile(
    tx: &Tx<'_>,
    earliest_period_start: DateTime<Utc>,
    only: Option<&[&str]>,
) -> Result<HashMap<String, Vec<Alert>>> {
    let conn = tx.conn();
    let mut stmt = conn.prepare_cached(&reconcile_sql(only.is_some()))?;
    let only = only.map(serde_json::to_string).transpose()?;
    let at = ts(earliest_period_start);
    let mut rows = match &only {
        Some(names) => stmt.query(params![at, names])?,
        None => stmt.query(params![at])?,
    };
    let mut by_account: HashMap<String, Vec<Alert>> = HashMap::new();
    while let Some(row) = rows.next()? {
        let alert = from_row(row)?;
        by_account
            .entry(alert.account.clone())
            .or_default()
            .push(alert);
    }
    Ok(by_account)
}

/// Records a new alert. `false` when its identity (account, quota type, threshold, period)
/// already has one: the unique index is the last word on identity.
pub(crate) fn insert(tx: &Tx<'_>, a: &Alert) -> Result<bool> {
    let conn = tx.conn();
    let inserted = conn
        .prepare_cached(&format!(
            "INSERT INTO alerts ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
             ON CONFLICT (account, quota_type, threshold, period_start) DO NOTHING"
        ))?
        .execute(params![
            a.id,
            a.account,
            a.alert_type.as_str(),
            a.severity.as_str(),
            a.message,
            a.current_value.to_string(),
            a.limit_value.to_string(),
            a.percentage,
            a.what(),
            a.threshold,
            ts(a.period_start),
            ts(a.period_end),
            ts(a.created_at),
            a.resolved_at.map(ts),
            a.resolution.map(Resolution::as_str),
            a.comment,
            a.resolved_by,
        ])
        .with_context(|| format!("cannot record an alert for {}", a.account))?;
    Ok(inserted == 1)
}

/// Opens a resolved alert again with fresh values.
pub(crate) fn reopen(tx: &Tx<'_>, id: &str, f: &Firing) -> Result<()> {
    let conn = tx.conn();
    conn.prepare_cached(
        "UPDATE alerts SET resolved_at = NULL, resolution = NULL, message = ?2, current_value = ?3,
             limit_value = ?4, percentage = ?5 WHERE id = ?1",
    )?
    .execute(params![
        id,
        f.message,
        f.current_value.to_string(),
        f.limit_value.to_string(),
        f.percentage
    ])?;
    Ok(())
}

/// How an alert is resolved: why, by whom (a manual resolve) and with what comment (which
/// replaces the stored one).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resolve<'a> {
    pub resolution: Resolution,
    pub comment: Option<&'a str>,
    pub by: Option<&'a str>,
}

impl Resolve<'_> {
    /// An automatic resolution: no comment, nobody.
    pub(crate) fn auto(resolution: Resolution) -> Resolve<'static> {
        Resolve {
            resolution,
            comment: None,
            by: None,
        }
    }
}

/// Resolves an open alert. `false` when it was not open (already resolved, or gone).
pub(crate) fn resolve(tx: &Tx<'_>, id: &str, how: Resolve<'_>, now: DateTime<Utc>) -> Result<bool> {
    let conn = tx.conn();
    let n = conn
        .prepare_cached(
            "UPDATE alerts SET resolved_at = ?2, resolution = ?3, comment = coalesce(?4, comment),
                 resolved_by = ?5
             WHERE id = ?1 AND resolved_at IS NULL",
        )?
        .execute(params![
            id,
            ts(now),
            how.resolution.as_str(),
            how.comment,
            how.by
        ])?;
    Ok(n == 1)
}

#[derive(Debug, Default)]
pub(crate) struct ListFilter {
    pub accounts: Vec<String>,
    pub include_resolved: bool,
    pub severity: Option<Severity>,
}

/// Alerts, most severe and newest first.
pub(crate) fn list(tx: &Tx<'_>, filter: &ListFilter) -> Result<Vec<Alert>> {
    let conn = tx.conn();
    let mut sql = format!("SELECT {COLUMNS} FROM alerts WHERE 1 = 1");
    let mut args: Vec<String> = Vec::new();
    if !filter.include_resolved {
        sql.push_str(" AND resolved_at IS NULL");
    }
    if let Some(s) = filter.severity {
        args.push(s.as_str().to_string());
        sql.push_str(&format!(" AND severity = ?{}", args.len()));
    }
    if !filter.accounts.is_empty() {
        let first = args.len() + 1;
        args.extend(filter.accounts.iter().cloned());
        let marks: Vec<String> = (first..=args.len()).map(|i| format!("?{i}")).collect();
        sql.push_str(&format!(" AND account IN ({})", marks.join(", ")));
    }
    sql.push_str(
        " ORDER BY resolved_at IS NOT NULL, CASE severity WHEN 'critical' THEN 0 ELSE 1 END, created_at DESC, account, quota_type, threshold, id",
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The accounts that have open alerts.
pub(crate) fn accounts_with_open(tx: &Tx<'_>) -> Result<Vec<String>> {
    let conn = tx.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT account FROM alerts WHERE resolved_at IS NULL AND account <> '' ORDER BY account",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Open alerts per account.
pub(crate) fn open_counts(tx: &Tx<'_>) -> Result<HashMap<String, usize>> {
    let conn = tx.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT account, count(*) FROM alerts WHERE resolved_at IS NULL GROUP BY account",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, usize>(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Open alerts per severity, both severities always present.
pub(crate) fn open_by_severity(tx: &Tx<'_>) -> Result<Vec<(Severity, usize)>> {
    let conn = tx.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT severity, count(*) FROM alerts WHERE resolved_at IS NULL GROUP BY 1",
    )?;
    let mut counts = vec![(Severity::Warning, 0), (Severity::Critical, 0)];
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, usize>(1)?)))?;
    for row in rows {
        let (sev, n) = row?;
        if let Some(slot) = counts.iter_mut().find(|(s, _)| s.as_str() == sev) {
            slot.1 = n;
        }
    }
    Ok(counts)
}

/// Alerts whose id starts with `prefix` (lowercase hex and dashes), at most `limit` of them.
pub(crate) fn by_prefix(tx: &Tx<'_>, prefix: &str, limit: usize) -> Result<Vec<Alert>> {
    let conn = tx.conn();
    // Ids are lowercase hex and dashes, all below 'g': the range is exactly the prefix.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM alerts WHERE id >= ?1 AND id < ?1 || 'g' ORDER BY id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(
        params![prefix, i64::try_from(limit).unwrap_or(i64::MAX)],
        from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
