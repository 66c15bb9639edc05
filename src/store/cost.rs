//! Daily USD cost per workspace, upserted from the cost report; exact decimals end to end.

use super::Tx;
use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::params;

use crate::records::CostDay;
use crate::time::{day, ts};

pub(crate) fn upsert(tx: &Tx<'_>, rows: &[CostDay], now: DateTime<Utc>) -> Result<()> {
    let conn = tx.conn();
    let mut stmt = conn.prepare_cached(
        "INSERT INTO cost_daily (workspace_id, day, amount_cents, fetched_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (workspace_id, day) DO UPDATE SET amount_cents = excluded.amount_cents, fetched_at = excluded.fetched_at",
    )?;
    for r in rows {
        stmt.execute(params![
            r.workspace_id.as_deref().unwrap_or(""),
            day(r.day),
            r.cents.to_string(),
            ts(now)
        ])?;
    }
    Ok(())
}

pub(crate) fn since(tx: &Tx<'_>, first_day: NaiveDate) -> Result<Vec<CostDay>> {
    let conn = tx.conn();
    let mut stmt = conn
        .prepare_cached("SELECT workspace_id, day, amount_cents FROM cost_daily WHERE day >= ?1")?;
    let rows = stmt.query_map([day(first_day)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    rows.map(|row| {
        let (ws, day, cents) = row?;
        Ok(CostDay {
            workspace_id: (!ws.is_empty()).then_some(ws),
            day: crate::time::parse_day(&day)
                .with_context(|| format!("bad day {day:?} in cost_daily"))?,
            cents: cents
                .parse()
                .with_context(|| format!("bad amount {cents:?} in cost_daily"))?,
        })
    })
    .collect()
}

pub(crate) fn prune(tx: &Tx<'_>, before: NaiveDate) -> Result<usize> {
    let conn = tx.conn();
    super::prune_days(conn, "cost_daily", before)
}
