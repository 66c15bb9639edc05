//! What burn rates are computed from: each window instance's totals as they change, and when
//! usage was read.

use std::collections::HashMap;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::Tx;
use super::sql::{Row, Val, vals};
use crate::period::Window;
use crate::quota::QuotaType;

/// One stored total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stored {
    pub window: Window,
    pub window_start: DateTime<Utc>,
    pub quota_type: QuotaType,
    pub at: DateTime<Utc>,
    pub used: Decimal,
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

/// Every stored total of the `only` accounts (or of all), by account, ascending in time.
pub(crate) fn history(tx: &Tx<'_>, only: Option<&[&str]>) -> Result<HashMap<String, Vec<Stored>>> {
    let columns = "account, window_kind, window_start, quota_type, at, used";
    let (sql, args) = match only {
        Some(names) => (
            format!(
                "SELECT {columns} FROM burn_snapshots WHERE {} ORDER BY account, at",
                tx.in_list("account", 1)
            ),
            vec![Val::Texts(names.iter().map(|n| (*n).to_owned()).collect())],
        ),
        None => (
            format!("SELECT {columns} FROM burn_snapshots ORDER BY account, at"),
            Vec::new(),
        ),
    };
    let mut by_account: HashMap<String, Vec<Stored>> = HashMap::new();
    tx.each(&sql, &args, |r| {
        let (account, stored) = from_row(&r)?;
        by_account.entry(account).or_default().push(stored);
        Ok(())
    })?;
    Ok(by_account)
}

fn from_row(r: &Row<'_>) -> Result<(String, Stored)> {
    let window = r.text(1)?;
    let quota = r.text(3)?;
    Ok((
        r.text(0)?,
        Stored {
            window: Window::parse(&window).ok_or_else(|| anyhow!("unknown window {window:?}"))?,
            window_start: r.time(2)?,
            quota_type: QuotaType::parse(&quota)
                .ok_or_else(|| anyhow!("unknown quota type {quota:?}"))?,
            at: r.time(4)?,
            used: r.money(5)?,
        },
    ))
}

/// Records a total of `account` (a run at the same moment again replaces it).
pub(crate) fn add(tx: &Tx<'_>, account: &str, s: &Stored) -> Result<()> {
    tx.exec(
        "INSERT INTO burn_snapshots (account, window_kind, window_start, quota_type, at, used)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (account, window_kind, quota_type, at)
         DO UPDATE SET window_start = excluded.window_start, used = excluded.used",
        &vals![
            account,
            s.window.as_str(),
            s.window_start,
            s.quota_type.as_str(),
            s.at,
            s.used
        ],
    )?;
    Ok(())
}

/// Removes what no lookback reaches any more: totals and reads before `cutoff`, except the
/// latest of each before it (it holds until the next), and anything older than `forget`
/// (the totals of accounts that are gone).
pub(crate) fn prune(tx: &Tx<'_>, cutoff: DateTime<Utc>, forget: DateTime<Utc>) -> Result<usize> {
    let totals = tx.exec(
        "DELETE FROM burn_snapshots WHERE at < ?2 OR (at < ?1 AND EXISTS (
             SELECT 1 FROM burn_snapshots n
             WHERE n.account = burn_snapshots.account AND n.window_kind = burn_snapshots.window_kind
               AND n.quota_type = burn_snapshots.quota_type
               AND n.at > burn_snapshots.at AND n.at <= ?1))",
        &vals![cutoff, forget],
    )?;
    let reads = tx.exec(
        "DELETE FROM usage_reads WHERE at < (SELECT max(at) FROM usage_reads WHERE at <= ?1)",
        &vals![cutoff],
    )?;
    Ok(totals + reads)
}
