//! What burn rates are computed from: each window instance's totals as they changed (one row
//! per account, window and quota), and when usage was read.

use std::collections::HashMap;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Utc};

use super::Tx;
use super::sql::{Row, Val, vals};
use crate::burn::Snapshot;
use crate::period::Window;
use crate::quota::QuotaType;

/// One account's totals of one quota in one window instance, ascending in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Series {
    pub window: Window,
    pub quota_type: QuotaType,
    pub window_start: DateTime<Utc>,
    pub points: Vec<Snapshot>,
}

/// Records that usage was read at `at`.
pub(crate) fn record_read(tx: &Tx<'_>, at: DateTime<Utc>) -> Result<()> {
    tx.exec(
        "INSERT INTO usage_reads (at) VALUES (?1) ON CONFLICT (at) DO NOTHING",
        &vals![at],
    )?;
    Ok(())
}

/// The reads at or after `since`, and the latest one before it, ascending.
pub(crate) fn reads(tx: &Tx<'_>, since: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>> {
    tx.rows(
        "SELECT at FROM usage_reads
         WHERE at >= coalesce((SELECT max(at) FROM usage_reads WHERE at <= ?1), ?1) ORDER BY at",
        &vals![since],
        |r| r.time(0),
    )
}

/// The series of the `only` accounts (or of all), by account.
pub(crate) fn history(tx: &Tx<'_>, only: Option<&[&str]>) -> Result<HashMap<String, Vec<Series>>> {
    let columns = "account, window_kind, quota_type, window_start, series";
    let (sql, args) = match only {
        Some(names) => (
            format!(
                "SELECT {columns} FROM burn_series WHERE {}",
                tx.in_list("account", 1)
            ),
            vec![Val::Texts(names.iter().map(|n| (*n).to_owned()).collect())],
        ),
        None => (format!("SELECT {columns} FROM burn_series"), Vec::new()),
    };
    let mut by_account: HashMap<String, Vec<Series>> = HashMap::new();
    tx.each(&sql, &args, |r| {
        let (account, series) = from_row(&r)?;
        by_account.entry(account).or_default().push(series);
        Ok(())
    })?;
    Ok(by_account)
}

fn from_row(r: &Row<'_>) -> Result<(String, Series)> {
    let (window, quota) = (r.text(1)?, r.text(2)?);
    let text = r.text(4)?;
    let points = text
        .split(';')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (at, used) = p.split_once(':')?;
            Some(Snapshot {
                at: DateTime::from_timestamp(at.parse().ok()?, 0)?,
                used: used.parse().ok()?,
            })
        })
        .collect::<Option<Vec<Snapshot>>>()
        .ok_or_else(|| anyhow!("a burn-rate series that does not read: {text:?}"))?;
    Ok((
        r.text(0)?,
        Series {
            window: Window::parse(&window).ok_or_else(|| anyhow!("unknown window {window:?}"))?,
            quota_type: QuotaType::parse(&quota)
                .ok_or_else(|| anyhow!("unknown quota type {quota:?}"))?,
            window_start: r.time(3)?,
            points,
        },
    ))
}

/// Stores one series of `account` (replacing the one of its window and quota).
pub(crate) fn put(tx: &Tx<'_>, account: &str, s: &Series) -> Result<()> {
    let text: String = s
        .points
        .iter()
        .map(|p| format!("{}:{};", p.at.timestamp(), p.used.normalize()))
        .collect();
    tx.exec(
        "INSERT INTO burn_series (account, window_kind, quota_type, window_start, series)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (account, window_kind, quota_type)
         DO UPDATE SET window_start = excluded.window_start, series = excluded.series",
        &vals![
            account,
            s.window.as_str(),
            s.quota_type.as_str(),
            s.window_start,
            text
        ],
    )?;
    Ok(())
}

/// Removes reads no lookback reaches (before `cutoff`, but the latest one before it), and
/// the series of accounts or windows not written since `forget` (gone, or switched off).
pub(crate) fn prune(tx: &Tx<'_>, cutoff: DateTime<Utc>, forget: DateTime<Utc>) -> Result<usize> {
    let series = tx.exec(
        "DELETE FROM burn_series WHERE window_start < ?1",
        &vals![forget],
    )?;
    let reads = tx.exec(
        "DELETE FROM usage_reads WHERE at < (SELECT max(at) FROM usage_reads WHERE at <= ?1)",
        &vals![cutoff],
    )?;
    Ok(series + reads)
}
