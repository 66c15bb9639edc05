//! Daily USD cost per workspace, upserted from the cost report; exact decimals end to end.

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};

use super::Tx;
use super::sql::vals;
use crate::records::CostDay;

pub(crate) fn upsert(tx: &Tx<'_>, rows: &[CostDay], now: DateTime<Utc>) -> Result<()> {
    for r in rows {
        tx.exec(
            "INSERT INTO cost_daily (workspace_id, day, amount_cents, fetched_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (workspace_id, day) DO UPDATE SET amount_cents = excluded.amount_cents, fetched_at = excluded.fetched_at",
            &vals![r.workspace_id.as_deref().unwrap_or(""), r.day, r.cents, now],
        )?;
    }
    Ok(())
}

pub(crate) fn since(tx: &Tx<'_>, first_day: NaiveDate) -> Result<Vec<CostDay>> {
    tx.rows(
        "SELECT workspace_id, day, amount_cents FROM cost_daily WHERE day >= ?1",
        &vals![first_day],
        |r| {
            let ws = r.text(0)?;
            Ok(CostDay {
                workspace_id: (!ws.is_empty()).then_some(ws),
                day: r.day(1)?,
                cents: r.money(2)?,
            })
        },
    )
}

pub(crate) fn prune(tx: &Tx<'_>, before: NaiveDate) -> Result<usize> {
    super::prune_days(tx, "cost_daily", before)
}
