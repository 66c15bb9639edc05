//! `/analytics/cost`: USD per workspace and day, per API key and per model when asked.

use std::collections::HashMap;

use anyhow::{Result, bail};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use super::rows::{Group, Where};
use super::{Endpoint, Walked, Window, query, walk};
use crate::api::Client;
use crate::api::report::{bucket_day, cents};
use crate::records::CostDay;
/// Cost per model: `(model, row)`.
pub(crate) type ModelCost = Vec<(String, CostDay)>;

#[derive(Deserialize)]
struct CostRow {
    starting_at: String,
    #[serde(default)]
    group: Group,
    #[serde(default)]
    cost: Option<Amount>,
}

#[derive(Deserialize)]
struct Amount {
    #[serde(default)]
    amount: Option<Value>,
    #[serde(default)]
    currency: Option<String>,
}

/// Reads one window of USD cost per workspace and day, every page of it; with `per_key`,
/// per API key too (`group_by[]=api_key_id`, asked only while an API-key account has a cost
/// limit: the rows grow with the keys).
/// With `by_model` (an account scoped to models has a cost limit) grouped by key and model
/// too; the second list is then the cost per model (`(model, row)`), the first still its sum.
pub(crate) fn read_cost(
    client: &mut Client,
    e: &Endpoint<'_>,
    w: Window,
    per_key: bool,
    by_model: bool,
) -> Result<(Vec<CostDay>, ModelCost)> {
    let group_by: &[&'static str] = match (per_key, by_model) {
        (_, true) => &["api_key_id", "workspace_id", "model"],
        (true, false) => &["api_key_id", "workspace_id"],
        (false, false) => &["workspace_id"],
    };
    let q = query(e, w, group_by, &[]);
    type Id = Option<String>;
    let mut sums: HashMap<(Id, Id, NaiveDate), Decimal> = HashMap::new();
    let mut per_model: HashMap<(Id, Id, String, NaiveDate), Decimal> = HashMap::new();
    walk(client, e, e.cost_path, &q, |walked: Walked<CostRow>| {
        let (page, data) = match walked {
            Walked::Page(page, data, _) => (page, data),
            Walked::Restart => {
                sums.clear();
                per_model.clear();
                return Ok(());
            }
        };
        for (index, r) in data.into_iter().enumerate() {
            let at = format!(
                "{}.cost",
                Where {
                    page: Some(page),
                    index
                }
            );
            let day = bucket_day(e.cost_path, &r.starting_at)?;
            let Some(amount) = r.cost else {
                bail!(
                    "GET {}: malformed response: {at} is missing; nothing was stored",
                    e.cost_path
                );
            };
            if let Some(c) = amount
                .currency
                .as_deref()
                .filter(|c| !c.eq_ignore_ascii_case("USD"))
            {
                bail!(
                    "GET {}: cost in {c} on {day}; quota keeps USD only",
                    e.cost_path
                );
            }
            let c = cents(e.cost_path, &at, amount.amount.as_ref())?;
            let g = r.group;
            if let Some(model) = g.model {
                let key = (g.api_key_id.clone(), g.workspace_id.clone(), model, day);
                *per_model.entry(key).or_default() += c;
            }
            *sums.entry((g.api_key_id, g.workspace_id, day)).or_default() += c;
        }
        Ok(())
    })?;
    let per_model = per_model
        .into_iter()
        .map(|((api_key_id, workspace_id, model, day), cents)| {
            let row = CostDay {
                api_key_id,
                workspace_id,
                day,
                cents,
            };
            (model, row)
        })
        .collect();
    let sums = sums
        .into_iter()
        .map(|((api_key_id, workspace_id, day), cents)| CostDay {
            api_key_id,
            workspace_id,
            day,
            cents,
        })
        .collect();
    Ok((sums, per_model))
}
