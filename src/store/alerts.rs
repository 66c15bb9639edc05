//! Alert rows: what reconciliation reads, inserting, reopening and resolving one, listing.

use super::Tx;
use std::collections::HashMap;

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Utc};

use super::sql::{Row, Val, vals};
use crate::alert::{Alert, AlertType, Firing, Resolution, Severity};
use crate::period::Window;
use crate::quota::QuotaType;

pub(crate) const COLUMNS: &str = "id, account, type, severity, message, current_value, limit_value, percentage, \
     quota_type, threshold, period_start, period_end, created_at, resolved_at, resolution, comment, \
     resolved_by, window_kind";

fn from_row(r: Row<'_>) -> Result<Alert> {
    from_row_at(&r, 0)
}

/// An alert whose columns start at index `o` of the row (after a join's own columns).
pub(super) fn from_row_at(r: &Row<'_>, o: usize) -> Result<Alert> {
    let bad = |i: usize, what: &str| anyhow!("column {}: unknown {what}", o + i);
    let text = |i: usize| r.text(o + i);
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
        current_value: r.money(o + 5)?,
        limit_value: r.money(o + 6)?,
        percentage: r.real(o + 7)?,
        quota_type,
        read,
        threshold: u32::try_from(r.int(o + 9)?).map_err(|_| bad(9, "threshold"))?,
        period_start: r.time(o + 10)?,
        period_end: r.time(o + 11)?,
        created_at: r.time(o + 12)?,
        resolved_at: r.opt_time(o + 13)?,
        resolution: match r.opt_text(o + 14)? {
            Some(s) => Some(Resolution::parse(&s).ok_or_else(|| bad(14, "resolution"))?),
            None => None,
        },
        comment: r.opt_text(o + 15)?,
        resolved_by: r.opt_text(o + 16)?,
        window: Window::parse(&text(17)?).ok_or_else(|| bad(17, "window"))?,
    })
}

/// `for_reconcile`'s query, of some accounts (`?2`, a list) or of all. Two statements, not
/// one with `?2 IS NULL OR account IN …`: that form keeps SQLite off the index on `account`,
/// and a chunk of accounts would scan every alert.
pub(super) fn reconcile_sql(tx: &Tx<'_>, of_some: bool) -> String {
    let relevant = "(resolved_at IS NULL OR period_start >= ?1)";
    if of_some {
        format!(
            "SELECT {COLUMNS} FROM alerts WHERE {relevant} AND {}",
            tx.in_list("account", 2)
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
    let mut args = vec![Val::from(earliest_period_start)];
    if let Some(names) = only {
        args.push(Val::Texts(names.iter().map(|n| (*n).to_owned()).collect()));
    }
    let mut by_account: HashMap<String, Vec<Alert>> = HashMap::new();
    tx.each(&reconcile_sql(tx, only.is_some()), &args, |row| {
        let alert = from_row(row)?;
        by_account
            .entry(alert.account.clone())
            .or_default()
            .push(alert);
        Ok(())
    })?;
    Ok(by_account)
}

/// Records a new alert. `false` when its identity (account, quota type, window, threshold,
/// window start)
/// already has one: the unique index is the last word on identity.
pub(crate) fn insert(tx: &Tx<'_>, a: &Alert) -> Result<bool> {
    let inserted = tx
        .exec(
            &format!(
                "INSERT INTO alerts ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
                 ON CONFLICT (account, quota_type, window_kind, threshold, period_start) DO NOTHING"
            ),
            &vals![
                &a.id,
                &a.account,
                a.alert_type.as_str(),
                a.severity.as_str(),
                &a.message,
                a.current_value,
                a.limit_value,
                a.percentage,
                a.what(),
                a.threshold,
                a.period_start,
                a.period_end,
                a.created_at,
                a.resolved_at,
                a.resolution.map(Resolution::as_str),
                a.comment.as_deref(),
                a.resolved_by.as_deref(),
                a.window.as_str(),
            ],
        )
        .with_context(|| format!("cannot record an alert for {}", a.account))?;
    Ok(inserted == 1)
}

/// Opens a resolved alert again with fresh values.
pub(crate) fn reopen(tx: &Tx<'_>, id: &str, f: &Firing) -> Result<()> {
    tx.exec(
        "UPDATE alerts SET resolved_at = NULL, resolution = NULL, message = ?2, current_value = ?3,
             limit_value = ?4, percentage = ?5 WHERE id = ?1",
        &vals![id, &f.message, f.current_value, f.limit_value, f.percentage],
    )?;
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
    let n = tx.exec(
        "UPDATE alerts SET resolved_at = ?2, resolution = ?3, comment = coalesce(?4, comment),
             resolved_by = ?5
         WHERE id = ?1 AND resolved_at IS NULL",
        &vals![id, now, how.resolution.as_str(), how.comment, how.by],
    )?;
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
    let mut sql = format!("SELECT {COLUMNS} FROM alerts WHERE 1 = 1");
    let mut args: Vec<Val> = Vec::new();
    if !filter.include_resolved {
        sql.push_str(" AND resolved_at IS NULL");
    }
    if let Some(s) = filter.severity {
        args.push(Val::from(s.as_str()));
        sql.push_str(&format!(" AND severity = ?{}", args.len()));
    }
    if !filter.accounts.is_empty() {
        args.push(Val::Texts(filter.accounts.clone()));
        sql.push_str(&format!(" AND {}", tx.in_list("account", args.len())));
    }
    sql.push_str(
        " ORDER BY resolved_at IS NOT NULL, CASE severity WHEN 'critical' THEN 0 ELSE 1 END, created_at DESC, account, quota_type, threshold, id",
    );
    tx.rows(&sql, &args, from_row)
}

/// The accounts that have open alerts.
pub(crate) fn accounts_with_open(tx: &Tx<'_>) -> Result<Vec<String>> {
    tx.rows(
        "SELECT DISTINCT account FROM alerts WHERE resolved_at IS NULL AND account <> '' ORDER BY account",
        &[],
        |r| r.text(0),
    )
}

/// Open alerts per account.
pub(crate) fn open_counts(tx: &Tx<'_>) -> Result<HashMap<String, usize>> {
    let rows = tx.rows(
        "SELECT account, count(*) FROM alerts WHERE resolved_at IS NULL GROUP BY account",
        &[],
        |r| Ok((r.text(0)?, r.count(1)?)),
    )?;
    Ok(rows.into_iter().collect())
}

/// Open alerts per severity, both severities always present.
pub(crate) fn open_by_severity(tx: &Tx<'_>) -> Result<Vec<(Severity, usize)>> {
    let mut counts = vec![(Severity::Warning, 0), (Severity::Critical, 0)];
    tx.each(
        "SELECT severity, count(*) FROM alerts WHERE resolved_at IS NULL GROUP BY 1",
        &[],
        |r| {
            let (sev, n) = (r.text(0)?, r.count(1)?);
            if let Some(slot) = counts.iter_mut().find(|(s, _)| s.as_str() == sev) {
                slot.1 = n;
            }
            Ok(())
        },
    )?;
    Ok(counts)
}

/// Alerts whose id starts with `prefix` (lowercase hex and dashes), at most `limit` of them.
pub(crate) fn by_prefix(tx: &Tx<'_>, prefix: &str, limit: usize) -> Result<Vec<Alert>> {
    // Ids are lowercase hex and dashes, all below 'g': the range is exactly the prefix.
    tx.rows(
        &format!(
            "SELECT {COLUMNS} FROM alerts WHERE id >= ?1 AND id < ?1 || 'g' ORDER BY id LIMIT ?2"
        ),
        &vals![prefix, i64::try_from(limit).unwrap_or(i64::MAX)],
        from_row,
    )
}
