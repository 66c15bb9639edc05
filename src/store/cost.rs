//! Daily USD cost per workspace, or per API key where the report was grouped by key, upserted
//! from the cost reads; exact decimals end to end.

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};

use super::Tx;
use super::sql::vals;
use crate::records::CostDay;

/// Stores the days of a cost read. A read covers its days whole, so each day it brings
/// replaces every stored row of that day: a day read per key after one read per workspace
/// (or the other way round, when the usage source changes) is never counted twice.
pub(crate) fn upsert(tx: &Tx<'_>, rows: &[CostDay], now: DateTime<Utc>) -> Result<()> {
    let mut days: Vec<NaiveDate> = rows.iter().map(|r| r.day).collect();
    days.sort_unstable();
    days.dedup();
    for day in days {
        tx.exec("DELETE FROM cost_daily WHERE day = ?1", &vals![day])?;
    }
    for r in rows {
        tx.exec(
            "INSERT INTO cost_daily (api_key_id, workspace_id, day, amount_cents, fetched_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (workspace_id, api_key_id, day) DO UPDATE SET
                 amount_cents = excluded.amount_cents, fetched_at = excluded.fetched_at",
            &vals![
                r.api_key_id.as_deref().unwrap_or(""),
                r.workspace_id.as_deref().unwrap_or(""),
                r.day,
                r.cents,
                now
            ],
        )?;
    }
    Ok(())
}

pub(crate) fn since(tx: &Tx<'_>, first_day: NaiveDate) -> Result<Vec<CostDay>> {
    tx.rows(
        "SELECT api_key_id, workspace_id, day, amount_cents FROM cost_daily WHERE day >= ?1",
        &vals![first_day],
        |r| {
            let (key, ws) = (r.text(0)?, r.text(1)?);
            Ok(CostDay {
                api_key_id: (!key.is_empty()).then_some(key),
                workspace_id: (!ws.is_empty()).then_some(ws),
                day: r.day(2)?,
                cents: r.money(3)?,
            })
        },
    )
}

pub(crate) fn prune(tx: &Tx<'_>, before: NaiveDate) -> Result<usize> {
    Ok(
        super::prune_days(tx, "cost_daily", before)?
            + super::prune_days(tx, "cost_models", before)?,
    )
}

/// Cost per model (`(model, row)`): a read replaces the days it holds, as `upsert` does.
pub(crate) fn replace_models(
    tx: &Tx<'_>,
    rows: &[(String, CostDay)],
    now: DateTime<Utc>,
) -> Result<()> {
    let mut days: Vec<NaiveDate> = rows.iter().map(|(_, r)| r.day).collect();
    days.sort_unstable();
    days.dedup();
    for day in days {
        tx.exec("DELETE FROM cost_models WHERE day = ?1", &vals![day])?;
    }
    for (model, r) in rows {
        tx.exec(
            "INSERT INTO cost_models (api_key_id, workspace_id, model, day, amount_cents, fetched_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (workspace_id, api_key_id, model, day) DO UPDATE SET
                 amount_cents = excluded.amount_cents, fetched_at = excluded.fetched_at",
            &vals![
                r.api_key_id.as_deref().unwrap_or(""),
                r.workspace_id.as_deref().unwrap_or(""),
                model.as_str(),
                r.day,
                r.cents,
                now
            ],
        )?;
    }
    Ok(())
}

/// Cost per model from `first_day` on: `(model, row)`.
pub(crate) fn models_since(tx: &Tx<'_>, first_day: NaiveDate) -> Result<Vec<(String, CostDay)>> {
    tx.rows(
        "SELECT api_key_id, workspace_id, day, amount_cents, model FROM cost_models WHERE day >= ?1",
        &vals![first_day],
        |r| {
            let (key, ws) = (r.text(0)?, r.text(1)?);
            Ok((
                r.text(4)?,
                CostDay {
                    api_key_id: (!key.is_empty()).then_some(key),
                    workspace_id: (!ws.is_empty()).then_some(ws),
                    day: r.day(2)?,
                    cents: r.money(3)?,
                },
            ))
        },
    )
}
