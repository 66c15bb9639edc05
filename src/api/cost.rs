//! The cost report (ADMIN_API.md §2): daily USD cost per workspace. `amount` is a decimal
//! string in cents, kept exact end to end.

use std::collections::HashMap;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::Client;
use super::report::{Cursor, Page, bucket_day};
use super::usage::PAGE_BUCKETS;
use crate::records::CostDay;

pub const PATH: &str = "/v1/organizations/cost_report";

#[derive(Deserialize)]
struct Row {
    amount: serde_json::Value,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    workspace_id: Option<String>,
}

pub fn fetch(client: &mut Client, first_day: NaiveDate) -> Result<Vec<CostDay>> {
    let query: Vec<(&str, String)> = vec![
        ("starting_at", crate::time::midnight(first_day)),
        ("bucket_width", "1d".into()),
        ("limit", PAGE_BUCKETS.to_string()),
        ("group_by[]", "workspace_id".into()),
    ];
    let mut sums: HashMap<(Option<String>, NaiveDate), Decimal> = HashMap::new();
    let mut cursor = Cursor::default();
    loop {
        let page: Page<Row> = client.get_json(PATH, &cursor.query(&query), None)?;
        for bucket in page.data {
            let day = bucket_day(PATH, &bucket.starting_at)?;
            for r in bucket.results {
                if let Some(c) = r
                    .currency
                    .as_deref()
                    .filter(|c| !c.eq_ignore_ascii_case("USD"))
                {
                    bail!("GET {PATH}: cost in {c} on {day}; quota keeps USD only");
                }
                // A string per the API; a JSON number is taken as written, never through f64.
                let text = match &r.amount {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    other => bail!(
                        "GET {PATH}: malformed response: amount {other} on {day} is not a decimal"
                    ),
                };
                let cents: Decimal = text.trim().parse().with_context(|| {
                    format!(
                        "GET {PATH}: malformed response: amount {text:?} on {day} is not a decimal"
                    )
                })?;
                *sums.entry((r.workspace_id, day)).or_default() += cents;
            }
        }
        if !cursor.advance(PATH, page.has_more, page.next_page)? {
            break;
        }
    }
    Ok(sums
        .into_iter()
        .map(|((workspace_id, day), cents)| CostDay {
            workspace_id,
            day,
            cents,
        })
        .collect())
}
